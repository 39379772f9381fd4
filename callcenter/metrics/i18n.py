"""Every word the wallboard and reports pages show, in Chinese (default) and English.

The language itself is chosen like everywhere else (``?lang=``, then the cookie): see
``callcenter.core.i18n.request_lang``.
"""

from __future__ import annotations

from callcenter.core.i18n import Catalogue

TEXT: dict[str, tuple[str, str]] = {
    # key: (Chinese, English)
    "app": ("客服中心", "Call centre"),
    "wallboard": ("实时监控大屏", "Wallboard"),
    "reports": ("统计报表", "Reports"),
    "nav_wallboard": ("监控大屏", "Wallboard"),  # in the navigation bar
    "nav_reports": ("报表", "Reports"),
    "other_lang": ("English", "中文"),
    "sign_out": ("退出", "Sign out"),
    "connected": ("已连接", "Connected"),
    "reconnecting": ("连接中断，正在重连…", "Connection lost, reconnecting…"),
    "lines": ("线路占用", "Lines in use"),
    "in_ivr": ("语音导航中", "In the IVR"),
    "waiting": ("排队等待", "Waiting"),
    "longest_wait": ("最长等待", "Longest wait"),
    "answer_rate_today": ("今日接通率", "Answer rate today"),
    "answer_rate_hour": ("本小时接通率", "Answer rate this hour"),
    "service_level_today": ("今日服务水平", "Service level today"),
    "offered_today": ("今日来电", "Calls today"),
    "answered_today": ("今日接通", "Answered today"),
    "answered_of_offered": ("接通 {answered} / {offered}", "{answered} / {offered} answered"),
    "abandoned_today": ("今日放弃", "Abandoned today"),
    "target": ("目标", "target"),
    "queue": ("队列", "Queue"),
    "agents": ("坐席状态", "Agents"),
    "state_idle": ("空闲", "Idle"),
    "state_in_call": ("通话中", "In call"),
    "state_ringing": ("振铃", "Ringing"),
    "state_paused": ("小休", "Paused"),
    "state_offline": ("离线", "Offline"),
    "alerts": ("告警", "Alerts"),
    "no_alerts": ("无告警", "No alerts"),
    "seats": ("坐席", "Seats"),
    "interface": ("分机", "Phone"),
    "state": ("状态", "State"),
    "monitor": ("监听", "Monitor"),
    "my_phone": ("我的话机", "My phone"),
    "listen": ("监听", "Listen"),
    "whisper": ("耳语", "Whisper"),
    "barge": ("强插", "Barge"),
    "monitor_started": ("正在呼叫您的话机…", "Calling your phone…"),
    "seconds": ("秒", "s"),
    "none": ("无", "none"),
    # wallboard: agents by name, queues today, TV mode
    "state_ready": ("就绪", "Ready"),
    "state_on_call": ("通话中", "On a call"),
    "state_wrap_up": ("话后处理", "Wrap-up"),
    "state_logged_in": ("话机未就绪", "Phone not ready"),
    "agent_name": ("坐席", "Agent"),
    "time_in_state": ("持续", "For"),
    "reason": ("原因", "Reason"),
    "queues_today": ("队列（今日）", "Queues (today)"),
    "pick_phone": ("选择您的话机…", "Choose your phone…"),
    "phone_first": ("请先选择您的话机", "Choose your phone first"),
    "tv_mode": ("电视模式", "TV mode"),
    "no_agents": ("没有坐席在线", "No agents signed in"),
    # reports
    "from": ("开始日期", "From"),
    "to": ("结束日期", "To"),
    "interval": ("时段", "Interval"),
    "minutes": ("分钟", "min"),
    "show": ("查询", "Show"),
    "by_interval": ("分时段接通率与服务水平", "Answer rate and service level by interval"),
    "concurrency": ("并发线路（每时段峰值）", "Concurrent lines (peak per interval)"),
    "capacity": ("线路容量", "Line capacity"),
    "high_level": ("高位线", "High level"),
    "answer_rate": ("接通率", "Answer rate"),
    "predicted_answer_rate": ("计划接通率", "Planned answer rate"),
    "service_level": ("服务水平", "Service level"),
    "peak_lines": ("峰值线路", "Peak lines"),
    "agent_table": ("坐席统计", "Agents"),
    "agent": ("坐席", "Agent"),
    "offered": ("来电", "Offered"),
    "answered": ("接通", "Answered"),
    "abandoned": ("放弃", "Abandoned"),
    "asa": ("平均应答(秒)", "ASA (s)"),
    "aht": ("平均处理(秒)", "AHT (s)"),
    "total": ("合计", "Total"),
    "export": ("导出", "Export"),
    "export_intervals": ("分时段", "by interval"),
    "export_agents": ("按坐席", "by agent"),
    # report views
    "views": ("报表视图", "Report views"),
    "view_interval": ("分时段", "By interval"),
    "view_queue": ("按队列", "By queue"),
    "view_shift": ("按班次", "By shift"),
    "view_hotline": ("按热线号码", "By hotline number"),
    "view_agent": ("按坐席", "By agent"),
    "view_month": ("月度每日接通率", "Answer rate per day of the month"),
    "month": ("月份", "Month"),
    "none_queue": ("未进入队列（仅语音导航、线路满）", "Not queued (IVR only, blocked)"),
    "none_hotline": ("未知号码", "Unknown number"),
    "shift": ("班次", "Shift"),
    "hotline": ("热线号码", "Hotline number"),
    "day": ("日期", "Day"),
    "short_abandons": ("短时放弃", "Short abandons"),
    "voicemail": ("转留言", "Voicemail"),
    "longest_wait_s": ("最长等待(秒)", "Longest wait (s)"),
    "ivr_only": ("仅语音导航", "IVR only"),
    "blocked": ("线路满被拒", "Blocked"),
    "rung": ("分配振铃", "Offered (rung)"),
    "ring_no_answer": ("振铃未接", "Ring no answer"),
    "occupancy": ("占用率", "Occupancy"),
    "paused": ("小休时长", "Pause time"),
    "qa_mean": ("质检均分(份数)", "QA average (sheets)"),
    "unanswered": ("未接通", "Unanswered"),
    "unanswered_by_queue": ("各队列未接通电话", "Unanswered calls by queue"),
    "no_agent_activity": ("该时间范围内没有坐席数据", "No agent activity in this range"),
    "def_agents": (
        "分配振铃 = 队列电话振响该坐席话机的次数；振铃未接 = 其中该坐席未接起的次数；"
        "平均处理 = 该坐席接通电话的通话 + 话后处理；占用率 = (通话 + 话后处理) ÷ 可接听时间；"
        "未接通的电话属于队列而非坐席，见下表",
        "Offered (rung) = times a queue call rang the agent's phone; ring no answer = those the "
        "agent did not pick up; AHT = talk + wrap-up of the calls they answered; occupancy = "
        "(on call + wrap-up) ÷ time available; calls nobody answered belong to their queue, "
        "see below",
    ),
    "met": ("达标", "met"),
    "missed": ("未达标", "missed"),
    "days_met": ("{met} / {days} 天达到接通率目标", "Target met on {met} of {days} days"),
    "export_view": ("本视图", "this view"),
    "no_data": ("该时间范围内没有通话", "No calls in this range"),
    "definitions": ("口径", "Definitions"),
    "def_answer_rate": (
        "接通率 = 接通 ÷（来电 − {short}秒内短放弃）；目标 {target}",
        "Answer rate = answered ÷ (offered − abandons within {short} s); target {target}",
    ),
    "def_service_level": (
        "服务水平 = {sl}秒内接通 ÷（来电 − 短放弃）；目标 {target}",
        "Service level = answered within {sl} s ÷ (offered − short abandons); target {target}",
    ),
    "def_lines": (
        "线路容量 {capacity}，高位线 {high}（{fraction}）",
        "{capacity} lines; high level {high} ({fraction})",
    ),
}


CATALOGUE = Catalogue(TEXT)
t = CATALOGUE.text
catalogue = CATALOGUE.all
