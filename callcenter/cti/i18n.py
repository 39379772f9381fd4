"""Every word a signed-in user or a caller's agent reads, in Chinese (default) and English."""

from __future__ import annotations

from typing import Literal

from aiohttp import web

Lang = Literal["zh", "en"]
LANG_COOKIE = "cc_lang"

TEXT: dict[str, tuple[str, str]] = {
    # key: (Chinese, English)
    "app": ("客服中心", "Call centre"),
    "sign_in": ("登录", "Sign in"),
    "sign_out": ("退出", "Sign out"),
    "login": ("账号", "Login"),
    "password": ("密码", "Password"),
    "bad_credentials": ("账号或密码错误", "Wrong login or password"),
    "throttled": (
        "尝试次数过多，请 {seconds} 秒后再试",
        "Too many attempts; try again in {seconds} seconds",
    ),
    "sign_in_busy": (
        "登录的人较多，请 {seconds} 秒后再试",
        "Many people are signing in; try again in {seconds} seconds",
    ),
    "form_expired": ("页面已过期，请重新登录", "The page expired; please sign in again"),
    "cross_site": ("拒绝跨站请求", "Cross-site request refused"),
    "csrf": ("请求缺少有效的安全令牌", "The request lacks a valid security token"),
    "sign_in_first": ("请先登录", "Sign in first"),
    "forbidden": ("您的角色无权执行此操作", "Your role may not do this"),
    "other_lang": ("English", "中文"),
    "seat": ("坐席", "Seat"),
    "ready": ("就绪", "Ready"),
    "paused": ("小休", "Paused"),
    "pause": ("小休", "Pause"),
    "resume": ("恢复就绪", "Ready again"),
    "pause_reason": ("小休原因", "Reason"),
    "reason_break": ("休息", "Break"),
    "reason_meal": ("用餐", "Meal"),
    "reason_training": ("培训", "Training"),
    "reason_admin": ("事务处理", "Paperwork"),
    "ringing": ("来电振铃", "Ringing"),
    "answered": ("通话中", "In call"),
    "ended": ("已挂断", "Ended"),
    "missed": ("未接", "Missed"),
    "new_caller": ("新来电（未登记号码）", "New caller (unknown number)"),
    "owner": ("业主", "Owner"),
    "units": ("房产", "Units"),
    "zone": ("片区", "Zone"),
    "housekeeper": ("管家", "Housekeeper"),
    "vip": ("VIP", "VIP"),
    "arrears": ("欠费", "Arrears"),
    "notes": ("备注", "Notes"),
    "open_orders": ("未结工单", "Open work orders"),
    "last_calls": ("最近来电", "Last calls"),
    "ivr_digits": ("语音导航按键", "IVR keys"),
    "waited": ("已等待", "Waited"),
    "seconds": ("秒", "s"),
    "caller": ("来电号码", "Caller"),
    "disposition": ("通话小结", "Disposition"),
    "disp_resolved": ("已解决", "Resolved"),
    "disp_work_order": ("已派单", "Work order raised"),
    "disp_callback": ("需回电", "Call back"),
    "disp_wrong_number": ("打错电话", "Wrong number"),
    "disp_other": ("其他", "Other"),
    "save": ("保存", "Save"),
    "saved": ("已保存", "Saved"),
    "raise_order": ("新建工单", "Raise a work order"),
    "kind": ("类型", "Type"),
    "kind_repair": ("报修", "Repair"),
    "kind_complaint": ("投诉", "Complaint"),
    "kind_enquiry": ("咨询", "Enquiry"),
    "kind_fee": ("缴费", "Fee"),
    "category": ("类别", "Category"),
    "priority": ("优先级", "Priority"),
    "prio_low": ("低", "Low"),
    "prio_normal": ("普通", "Normal"),
    "prio_high": ("高", "High"),
    "prio_urgent": ("紧急", "Urgent"),
    "department": ("部门", "Department"),
    "due": ("期限", "Due"),
    "description": ("描述", "Description"),
    "create": ("提交", "Submit"),
    "order_created": ("工单已创建：#{id}", "Work order #{id} raised"),
    "click_to_call": ("外呼", "Call"),
    "number": ("号码", "Number"),
    "calling": ("正在呼叫…", "Calling…"),
    "today_calls": ("今日通话", "Today's calls"),
    "my_orders": ("我的工单", "My work orders"),
    "state": ("状态", "State"),
    "connected": ("已连接", "Connected"),
    "reconnecting": ("连接中断，正在重连…", "Connection lost, reconnecting…"),
    "error": ("出错了", "Something went wrong"),
    # which call and owner a form is for
    "calls_title": ("来电", "Calls"),
    "no_calls": ("暂无来电", "No calls"),
    "work_on": ("处理此来电", "Work on this call"),
    "working_on": ("正在处理", "Working on it"),
    "close_call": ("关闭", "Close"),
    "order_without_call": ("不关联来电的工单", "Work order without a call"),
    "no_call": ("未关联来电", "Not linked to a call"),
    "unknown_caller": ("未知来电", "Unknown caller"),
    "shared_number": ("共用号码（{n} 位业主）", "Shared number ({n} owners)"),
    "unit_in_parens": ("（{unit}）", " ({unit})"),
    "call_at": ("{time} 来电", "call at {time}"),
    "wrapup_for": ("通话小结 · {who}", "Wrap-up · {who}"),
    "order_for": ("新建工单 · {who}", "Work order · {who}"),
    "order_owner": ("工单业主", "Owner of the order"),
    "wrapup_pending": ("待小结", "Wrap-up due"),
    "wrapup_saved": ("通话小结已保存：{who}", "Wrap-up saved: {who}"),
    "order_created_for": ("工单已创建：#{id}（{who}）", "Work order #{id} raised ({who})"),
    "no_seat": (
        "您的账号没有绑定坐席分机，无法接收来电弹屏",
        "Your account has no seat phone: no screen-pops",
    ),
}


def t(lang: Lang, key: str, **values: object) -> str:
    zh, en = TEXT[key]
    text = en if lang == "en" else zh
    return text.format(**values) if values else text


def request_lang(request: web.Request) -> Lang:
    """``?lang=`` first, then the language cookie; Chinese unless English is asked for."""
    chosen = request.query.get("lang") or request.cookies.get(LANG_COOKIE) or "zh"
    return "en" if chosen == "en" else "zh"


def remember_lang(request: web.Request, response: web.StreamResponse) -> None:
    if request.query.get("lang") in ("zh", "en"):
        response.set_cookie(
            LANG_COOKIE, request.query["lang"], max_age=365 * 86400, samesite="Lax", path="/"
        )


def catalogue(lang: Lang) -> dict[str, str]:
    """Every text in one language, for the browser's script."""
    return {key: (en if lang == "en" else zh) for key, (zh, en) in TEXT.items()}
