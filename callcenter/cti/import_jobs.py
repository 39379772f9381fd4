"""Owner imports started from the browser: the uploaded file is read and checked (all rows
or none, as ``callcenter owners import`` does), then written in the background while the
page asks how far it has come.

``POST /api/owners/import?name=owners.xlsx[&dry_run=true]`` with the file as the body
(admins) answers 202 with the job; ``GET /api/owners/import/{job_id}`` tells its state:
``checking`` -> ``writing`` (``done`` of ``total``) -> ``done`` (created, updated) or
``refused`` (the file's problems by row and column; nothing written) or ``failed``.
Jobs live in this process's memory; the last ``KEEP_JOBS`` are kept.
"""

from __future__ import annotations

import asyncio
import itertools
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web

from callcenter.core.errors import ApiError
from callcenter.cti.importer import ImportFileError, parse_rows, read_table
from callcenter.cti.lookup import OwnerDirectory
from callcenter.web.security import current_user, require_roles
from callcenter.web.validation import query_values

log = structlog.get_logger(__name__)

MAX_UPLOAD_BYTES = 32 * 1024 * 1024
KEEP_JOBS = 20
MAX_PROBLEMS_SHOWN = 200


@dataclass
class ImportJob:
    id: int
    file: str
    by: str
    dry_run: bool = False
    state: str = "checking"  # checking | writing | done | refused | failed
    rows: int = 0
    done: int = 0
    total: int = 0
    created: int = 0
    updated: int = 0
    problems: list[str] = field(default_factory=list)
    problem_count: int = 0

    def progress(self, done: int, total: int) -> None:
        """Called from the writing thread: two ints, read by the event loop as they are."""
        self.done, self.total = done, total


@dataclass
class ImportJobs:
    directory: OwnerDirectory
    default_area_code: str = ""
    jobs: dict[int, ImportJob] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def start(self, file: str, data_path: Path, *, by: str, dry_run: bool) -> ImportJob:
        job = ImportJob(next(self._ids), file, by, dry_run)
        self.jobs[job.id] = job
        for old in sorted(self.jobs)[:-KEEP_JOBS]:
            del self.jobs[old]
        task = asyncio.get_running_loop().create_task(self._run(job, data_path))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job

    async def _run(self, job: ImportJob, data_path: Path) -> None:
        try:
            parsed = await asyncio.to_thread(self._parse, data_path)
            job.rows, job.total = parsed.rows, len(parsed.records)
            if parsed.problems:
                job.problem_count = len(parsed.problems)
                job.problems = [str(p) for p in parsed.problems[:MAX_PROBLEMS_SHOWN]]
                job.state = "refused"
                return
            if job.dry_run:
                known = await asyncio.to_thread(self.directory.repository.codes)
                job.updated = sum(1 for r in parsed.records if r.code in known)
                job.created = len(parsed.records) - job.updated
                job.state = "done"
                return
            job.state = "writing"
            counts = await self.directory.import_owners(parsed.records, job.progress)
            job.created, job.updated, job.done = counts.created, counts.updated, job.total
            job.state = "done"
            log.info("owners imported", file=job.file, by=job.by, created=counts.created,
                     updated=counts.updated)  # fmt: skip
        except ImportFileError as exc:
            job.state, job.problems, job.problem_count = "refused", [str(exc)], 1
        except Exception:
            log.exception("owner import failed", file=job.file)
            job.state = "failed"
        finally:
            data_path.unlink(missing_ok=True)

    def _parse(self, data_path: Path) -> Any:
        header, rows = read_table(data_path)
        return parse_rows(header, rows, default_area_code=self.default_area_code)

    async def settle(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


JOBS_KEY: web.AppKey[ImportJobs] = web.AppKey("cti_import_jobs", ImportJobs)


async def _save_upload(request: web.Request, suffix: str) -> Path:
    """The body, streamed to a scratch file (deleted when the job ends), at most
    ``MAX_UPLOAD_BYTES``."""
    handle = tempfile.NamedTemporaryFile(prefix="owners-", suffix=suffix, delete=False)  # noqa: SIM115
    path = Path(handle.name)
    size = 0
    try:
        with handle:
            async for chunk in request.content.iter_chunked(64 * 1024):
                size += len(chunk)
                if size > MAX_UPLOAD_BYTES:
                    raise ApiError(
                        413,
                        "too_large",
                        "文件过大",
                        f"the file is larger than {MAX_UPLOAD_BYTES} bytes",
                    )
                await asyncio.to_thread(handle.write, chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


@require_roles("admin")
async def start_import(request: web.Request) -> web.Response:
    query = query_values(request)  # checked against the OpenAPI description already
    name = str(query["name"])
    path = await _save_upload(request, Path(name).suffix.lower())
    user = current_user(request)
    job = request.app[JOBS_KEY].start(
        name, path, by=user.login if user else "", dry_run=query["dry_run"] == "true"
    )
    return web.json_response(asdict(job), status=202)


@require_roles("admin")
async def import_state(request: web.Request) -> web.Response:
    job = request.app[JOBS_KEY].jobs.get(int(request.match_info["job_id"]))
    if job is None:
        raise ApiError(404, "no_such_import", "没有这个导入任务", "no such import")
    return web.json_response(asdict(job))


def setup(app: web.Application, jobs: ImportJobs) -> None:
    app[JOBS_KEY] = jobs
    app.router.add_post("/api/owners/import", start_import)
    app.router.add_get("/api/owners/import/{job_id}", import_state)
