"""Scheduling for ``StaticModel.encode`` of many texts: units of work, and which runs where.

Three engines, chosen per call by :func:`plan` (see README, "Threads, memory and the batch engine"):

- **the calling thread**: inputs of one unit (one text, 32 short texts) never wait for a pool;
- **threads** (``threads=N``): a process-wide pool of threads runs units concurrently. numpy releases the GIL
  inside each call, but the tokenizer and the many small numpy calls take it back, so threads gain little;
- **processes** (``workers=N``, Linux): persistent worker processes, started by the first call big enough to need
  them (never at import or load), reused by later calls and stopped at exit. Each worker loads the same generated
  model (its table is the same read-only file mapping in every process: N workers cost about one table of RAM)
  and caches it. A call's texts go to the workers as one UTF-8 buffer plus offsets in an anonymous memory file
  (``memfd_create``), and the workers write their rows into a second one (``pwrite``: no page fault per page),
  which the parent then maps copy-on-write and returns as the ndarray (no copy back). A worker opens a memory file
  through ``/proc/<parent>/fd/<fd>`` and checks it is the call's own (device, inode); the memory is freed when the
  last descriptor and mapping close, so nothing outlives the processes that use it, even after a SIGKILL. Workers are started by ``forkserver`` (never a ``fork`` of a parent that may run threads) without
  re-importing the caller's ``__main__`` (a script without an ``if __name__ == "__main__"`` guard is not run
  again in them), ignore SIGINT (Ctrl-C interrupts the caller, which cancels the call) and exit when the parent
  dies (they wait on the pipe the parent holds). A worker that dies mid-call breaks the pool: the call's
  unfinished units run again once on a fresh pool; a second death raises :class:`WorkerDied`.

Every text's rows are added in token order in float32 on every engine, and scales and normalization are applied
row by row, so each text's vector is bit-identical whatever the engine, thread or worker count.
"""

from __future__ import annotations

import atexit
import mmap
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor

    from .model import StaticModel

Vector = npt.NDArray[np.float32]
UNIT_CHARS = 1 << 16  # a unit of work (tokenize + pool) for one thread or worker: about 64k characters of text
PROCESS_MIN_CHARS = 1 << 18  # smaller calls never use (or start) worker processes: about 4 units
# Whether a big call with neither threads= nor workers= uses processes. Off: on the shared 2-core machine of issue
# 18 the process engine was slower than threads in the same runs on every workload (short, paragraphs, PEP long,
# broad) and used 12-30% more CPU than one thread for the same rows (README, "Benchmarks": "One call on worker
# processes"); $FASTEMBED_STATIC_WORKERS or workers= opt in.
PROCESS_DEFAULT = False
# Units sent to a worker in one message (ProcessPoolExecutor costs ~0.3 ms of the parent's CPU a message: its
# management and queue threads), but at least this many messages a worker in a call.
TASK_UNITS = 4
TASKS_PER_WORKER = 6
RETRIES = 1  # fresh pools a call may use after a worker died
KILL_HOOK = "FASTEMBED_STATIC_TEST_KILL_UNIT"  # tests: "k" or "k:marker" makes the worker of unit k SIGKILL itself


class WorkerDied(RuntimeError):
    """A worker process died while encoding (killed, out of memory) again after the call was retried."""


def default_threads() -> int:
    """Threads for ``encode`` when not given: ``$FASTEMBED_STATIC_THREADS``, else the CPUs this process may use."""
    return _env_count("FASTEMBED_STATIC_THREADS") or cpus()


def default_workers() -> int | None:
    """``$FASTEMBED_STATIC_WORKERS`` (processes for big calls; 1: none), or None when it is not set."""
    return _env_count("FASTEMBED_STATIC_WORKERS")


def cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _env_count(name: str) -> int | None:
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    try:
        count = int(value)
    except ValueError:
        count = 0
    if count < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    return count


def processes_available() -> bool:
    return hasattr(os, "memfd_create") and os.path.isdir(f"/proc/{os.getpid()}/fd")


def plan(workers: int | None, threads: int | None, chars: int, units: int) -> tuple[str, int]:
    """("calling", 1), ("threads", N) or ("processes", N) for a call of ``units`` units, ``chars`` characters.

    ``workers=N`` (N > 1) asks for processes, ``threads=N`` for threads in this process; with neither, processes
    (``$FASTEMBED_STATIC_WORKERS``, else one per CPU) when PROCESS_DEFAULT, else threads (``$FASTEMBED_STATIC_THREADS``,
    else one per CPU). Processes only for calls of at least PROCESS_MIN_CHARS characters (smaller ones use
    threads: starting workers costs more than they save), and only where :func:`processes_available`."""
    if units < 2:
        return "calling", 1
    if workers is None and threads is None:
        workers = default_workers()
        if workers is None and PROCESS_DEFAULT:
            workers = cpus()
    if workers is not None and workers > 1 and chars >= PROCESS_MIN_CHARS and processes_available():
        return "processes", workers
    count = threads if threads is not None else default_threads()
    return ("threads", count) if count > 1 else ("calling", 1)


def units_of(texts: Sequence[str], batch_size: int) -> list[tuple[int, int]]:
    """Contiguous ranges of texts, each about UNIT_CHARS characters and at most ``batch_size`` texts."""
    n = len(texts)
    if n == 0:
        return []
    ends = np.cumsum(np.fromiter(map(len, texts), dtype=np.int64, count=n) + 1)
    units: list[tuple[int, int]] = []
    first = 0
    while first < n:
        base = int(ends[first - 1]) if first else 0
        last = int(np.searchsorted(ends, base + UNIT_CHARS, side="left")) + 1
        last = min(max(last, first + 1), first + batch_size, n)
        units.append((first, last))
        first = last
    return units


# ------------------------------------------------------------------------------------------------------------
# threads


_executors: dict[int, ThreadPoolExecutor] = {}
_executors_lock = threading.Lock()


def executor(threads: int) -> ThreadPoolExecutor:
    """A process-wide pool of ``threads`` threads, made on first use and kept (idle threads cost nothing)."""
    with _executors_lock:
        pool = _executors.get(threads)
        if pool is None:
            from concurrent.futures import ThreadPoolExecutor

            pool = _executors[threads] = ThreadPoolExecutor(threads, thread_name_prefix="fastembed-static")
        return pool


def run_threads(
    threads: int,
    units: list[tuple[int, int]],
    run: Callable[[int, int], None],
    progress: Callable[[int], None] | None,
) -> None:
    """``run(first, last)`` for every unit on ``threads`` threads (1: on the calling thread)."""
    if threads < 2 or len(units) < 2:
        for first, last in units:
            run(first, last)
            if progress:
                progress(last)
        return
    done = [0]
    lock = threading.Lock()

    def one(unit: tuple[int, int]) -> None:
        run(*unit)
        if progress:
            with lock:
                done[0] += unit[1] - unit[0]
                progress(done[0])

    for _ in executor(threads).map(one, units):
        pass


# ------------------------------------------------------------------------------------------------------------
# processes: the parent side


class Job(NamedTuple):
    """What a worker needs for one call (pickled once per unit: small, no texts)."""

    model: str  # the generated model folder
    weights_sha256: str  # the table the parent uses: a worker whose file differs refuses the work
    parent: int  # pid whose /proc fd table holds the memory files
    texts_fd: int  # int64 byte offsets (n + 1), then the UTF-8 texts joined by single spaces
    texts_bytes: int
    out_fd: int  # float32 rows (n, columns)
    inodes: tuple[
        tuple[int, int], tuple[int, int]
    ]  # (device, inode) of the two memory files: a descriptor number the parent closed and reused is refused
    n: int
    columns: int  # of the output
    keep: int | None  # table columns pooled (None: all)
    before: bool  # normalize the full vector, then keep ``columns``
    normalize: bool
    kill: str  # the test hook


class Stats(NamedTuple):
    """Where the parent's time went in the last process-engine call (seconds): preparing the input, sending units,
    waiting for workers, and in total."""

    prepare: float
    send: float
    wait: float
    total: float
    workers: int
    units: int
    worker_wall: float  # summed over units: seconds the workers spent on them
    worker_cpu: float  # of which on a CPU (the rest: waiting for one on a busy machine, or for I/O)


last_stats: Stats | None = None


def run_processes(
    model: StaticModel,
    texts: list[str],
    units: list[tuple[int, int]],
    workers: int,
    columns: int,
    keep: int | None,
    before: bool,
    normalize: bool,
    progress: Callable[[int], None] | None,
) -> Vector | None:
    """The rows of ``texts`` computed by ``workers`` processes (scaled and normalized as ``encode`` does), or None
    when the texts cannot be sent as UTF-8 (a lone surrogate: the caller reports it with its index)."""
    global last_stats
    start = time.perf_counter()
    n = len(texts)
    try:
        raw, offsets = _joined_utf8(texts)
    except UnicodeEncodeError:
        return None
    texts_fd = out_fd = -1
    try:
        texts_fd = os.memfd_create("fastembed-static-texts", os.MFD_CLOEXEC)
        head = offsets.tobytes()
        _write_all(texts_fd, head)  # written, not mapped: no page fault per page of the memory file
        _write_all(texts_fd, raw)
        del raw
        out_fd = os.memfd_create("fastembed-static-rows", os.MFD_CLOEXEC)
        size = n * columns * 4
        os.ftruncate(out_fd, size)
        job = Job(
            os.path.abspath(model.path),  # the forkserver may have another working directory
            str(model.metadata["weights"]["sha256"]),
            os.getpid(),
            texts_fd,
            len(head) + int(offsets[-1]) - 1,
            out_fd,
            (_identity(texts_fd), _identity(out_fd)),
            n,
            columns,
            keep,
            before,
            normalize,
            os.environ.get(KILL_HOOK, ""),
        )
        prepared = time.perf_counter()
        send, wait, busy = _dispatch(job, units, workers, progress)
        out: Vector = np.frombuffer(_map_private(out_fd, size), dtype=np.float32).reshape(n, columns)
        last_stats = Stats(prepared - start, send, wait, time.perf_counter() - start, workers, len(units), *busy)
        return out
    finally:
        for fd in (texts_fd, out_fd):  # the output stays mapped by ``out`` (no descriptor); the texts' memory is freed
            if fd >= 0:
                os.close(fd)


def _joined_utf8(texts: list[str]) -> tuple[bytes, npt.NDArray[np.int64]]:
    """The texts in UTF-8 joined by single spaces, and the byte offset of each (n + 1: the last one is past the
    end, plus one). ASCII texts are joined as str and encoded at once; otherwise each text is encoded and the bytes
    joined (joining str with one non-ASCII character would widen every character of the whole call first).
    Raises UnicodeEncodeError for a lone surrogate."""
    n = len(texts)
    offsets = np.zeros(n + 1, dtype=np.int64)
    if all(map(str.isascii, texts)):  # O(1) per text: CPython keeps the flag
        raw = " ".join(texts).encode("ascii")
        np.cumsum(np.fromiter(map(len, texts), dtype=np.int64, count=n) + 1, out=offsets[1:])
    else:
        encoded = [text.encode("utf-8") for text in texts]
        np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=n) + 1, out=offsets[1:])
        raw = b" ".join(encoded)
    return raw, offsets


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _map_private(fd: int, size: int) -> Any:
    """A writable private (copy-on-write) mapping of ``fd``, which the workers have written: a write to the returned
    array, or by a process forked later, stays private as for any numpy array. Unlike ``mmap.mmap`` (which keeps a
    duplicate of the descriptor open as long as it lives) it holds no descriptor: a program keeping thousands of
    returned arrays does not run out of them. Unmapped when the last array viewing it is collected."""
    import ctypes
    import weakref

    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    address = libc.mmap(None, size, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_PRIVATE, fd, 0)
    if address is None or address == ctypes.c_void_p(-1).value:
        error = ctypes.get_errno()
        raise OSError(error, f"cannot map the output rows: {os.strerror(error)}")
    buffer = (ctypes.c_char * size).from_address(address)
    weakref.finalize(buffer, libc.munmap, address, size)
    return buffer


def _dispatch(
    job: Job, units: list[tuple[int, int]], workers: int, progress: Callable[[int], None] | None
) -> tuple[float, float, tuple[float, float]]:
    """Run every unit on the pool; returns seconds sending, seconds waiting, and the workers' (wall, CPU) seconds."""
    from concurrent.futures import FIRST_COMPLETED
    from concurrent.futures import wait as wait_for
    from concurrent.futures.process import BrokenProcessPool

    pending = dict(enumerate(units))
    send = waited = worker_wall = worker_cpu = 0.0
    done_texts = 0
    for _attempt in range(RETRIES + 1):
        pool = process_pool(workers)
        futures: dict[Future[tuple[float, float]], list[int]] = {}
        broken = False
        try:
            t0 = time.perf_counter()
            try:
                for task in tasks_of(list(pending.items()), workers):
                    futures[pool.submit(_work, job, task)] = [index for index, _, _ in task]
            except BrokenProcessPool:  # a worker died between calls (the pool noticed it only now)
                broken = True
            send += time.perf_counter() - t0
            while futures and not broken:
                t0 = time.perf_counter()
                finished, _ = wait_for(list(futures), return_when=FIRST_COMPLETED)
                waited += time.perf_counter() - t0
                for future in finished:
                    indices = futures.pop(future)
                    try:
                        wall, cpu = future.result()
                    except BrokenProcessPool:
                        broken = True
                        continue
                    for index in indices:
                        first, last = pending.pop(index)
                        done_texts += last - first
                    worker_wall += wall
                    worker_cpu += cpu
                    if progress:
                        progress(done_texts)
        except BaseException:  # KeyboardInterrupt, or a unit's error: nothing more of this call runs
            for future in futures:
                future.cancel()
            raise
        if not broken:
            return send, waited, (worker_wall, worker_cpu)
        _discard_pool(workers, pool)
    raise WorkerDied(
        f"a worker process died while encoding, {RETRIES + 1} times in this call (killed, or out of memory?);"
        f" {len(pending)} of {len(units)} units were not encoded"
    )


def tasks_of(units: list[tuple[int, tuple[int, int]]], workers: int) -> list[list[tuple[int, int, int]]]:
    """Consecutive units, (index, first, last), grouped into tasks (one message to a worker and one back each):
    up to TASK_UNITS units a task, but at least TASKS_PER_WORKER tasks a worker while there are units enough, so
    that a worker slowed by the machine's other work does not hold the call's end."""
    size = max(1, min(TASK_UNITS, len(units) // (workers * TASKS_PER_WORKER)))
    items = [(index, first, last) for index, (first, last) in units]
    return [items[at : at + size] for at in range(0, len(items), size)]


_pools: dict[int, ProcessPoolExecutor] = {}
_pools_lock = threading.Lock()


def process_pool(workers: int) -> ProcessPoolExecutor:
    """The process-wide pool of ``workers`` processes, made on first use (its processes start with the first
    units sent) and kept until exit."""
    with _pools_lock:
        pool = _pools.get(workers)
        if pool is None or getattr(pool, "_broken", False):  # a worker died while the pool was idle: replace it
            from concurrent.futures import ProcessPoolExecutor

            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)

            pool = _pools[workers] = ProcessPoolExecutor(workers, mp_context=_context(), initializer=_worker_start)
        return pool


def _discard_pool(workers: int, pool: ProcessPoolExecutor) -> None:
    with _pools_lock:
        if _pools.get(workers) is pool:
            del _pools[workers]
    pool.shutdown(wait=True, cancel_futures=True)


def shutdown() -> None:
    """Stop every worker process (they are started again by the next big call)."""
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.shutdown(wait=True, cancel_futures=True)


def live_worker_pids() -> list[int]:
    """Pids of this process's worker processes (for tests and diagnostics)."""
    with _pools_lock:
        pools = list(_pools.values())
    return sorted(pid for pool in pools for pid in (getattr(pool, "_processes", None) or {}))


atexit.register(shutdown)

_launching = threading.local()


def _context() -> Any:
    """A forkserver context whose processes do not import the caller's ``__main__``."""
    return _classes()["_WorkerContext"]()


_made: dict[str, Any] = {}


def _classes() -> dict[str, Any]:
    """The worker process classes, made on first use (importing multiprocessing at import would slow the cold
    start); module attributes (see ``__getattr__``) so that a worker can unpickle its process object."""
    if _made:
        return _made
    import multiprocessing.context
    import multiprocessing.popen_forkserver
    import multiprocessing.spawn

    _install_preparation_filter(multiprocessing.spawn)

    class _WorkerPopen(multiprocessing.popen_forkserver.Popen):
        def _launch(self, process_obj: Any) -> None:
            _launching.active = True
            try:
                super()._launch(process_obj)  # type: ignore[misc]
            finally:
                _launching.active = False

    class _WorkerProcess(multiprocessing.context.ForkServerProcess):
        @staticmethod
        def _Popen(process_obj: Any) -> Any:
            return _WorkerPopen(process_obj)

    class _WorkerContext(multiprocessing.context.ForkServerContext):
        Process = _WorkerProcess

    for cls in (_WorkerPopen, _WorkerProcess, _WorkerContext):
        cls.__qualname__ = cls.__name__
        _made[cls.__name__] = cls
    return _made


def __getattr__(name: str) -> Any:
    if name in ("_WorkerPopen", "_WorkerProcess", "_WorkerContext"):
        return _classes()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _install_preparation_filter(spawn: Any) -> None:
    """Wrap ``multiprocessing.spawn.get_preparation_data`` (once) so that, for a worker launched by this module
    only (a thread-local flag), the child is not told to import ``__main__``."""
    original = spawn.get_preparation_data
    if getattr(original, "_fastembed_static", False):
        return

    def get_preparation_data(name: str) -> dict[str, Any]:
        data: dict[str, Any] = original(name)
        if getattr(_launching, "active", False):
            data.pop("init_main_from_path", None)
            data.pop("init_main_from_name", None)
        return data

    get_preparation_data._fastembed_static = True  # type: ignore[attr-defined]
    spawn.get_preparation_data = get_preparation_data


def _after_fork_in_child() -> None:
    """A forked child has only the forking thread: the parent's pools have no threads (or management thread)
    there and a lock held by another thread at the fork is never released. Forget them (without stopping the
    parent's workers); the child makes its own pools on first use."""
    global _executors_lock, _pools_lock
    _executors_lock = threading.Lock()
    _executors.clear()
    _pools_lock = threading.Lock()
    _pools.clear()


if hasattr(os, "register_at_fork"):  # not on Windows (no fork there)
    os.register_at_fork(after_in_child=_after_fork_in_child)


# ------------------------------------------------------------------------------------------------------------
# processes: the worker side

_models: dict[tuple[str, str], StaticModel] = {}
MODELS_KEPT = 4  # models a worker keeps loaded (a long-lived process may encode with many)


def _worker_start() -> None:
    """In each worker, once: ignore Ctrl-C (the parent cancels the call) and exit when the parent dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import multiprocessing

    parent = multiprocessing.parent_process()
    if parent is not None:

        def watch() -> None:
            parent.join()  # returns when the parent's end of the pipe closes: the parent exited or was killed
            os._exit(0)

        threading.Thread(target=watch, name="fastembed-static-parent-watch", daemon=True).start()


def _worker_model(job: Job) -> StaticModel:
    key = (job.model, job.weights_sha256)
    model = _models.get(key)
    if model is None:
        from . import _model_files
        from .errors import ModelFileError
        from .model import StaticModel

        generated = _model_files.load(Path(job.model))
        if generated.metadata["weights"]["sha256"] != job.weights_sha256:
            raise ModelFileError(Path(job.model), "the model changed on disk since the caller loaded it")
        if len(_models) >= MODELS_KEPT:
            _models.pop(next(iter(_models)))
        model = _models[key] = StaticModel(generated)
    return model


def _identity(fd: int) -> tuple[int, int]:
    stat = os.fstat(fd)
    return stat.st_dev, stat.st_ino


def _open_fd(parent: int, fd: int, identity: tuple[int, int], flags: int) -> int:
    """The parent's descriptor ``fd``, opened again here, if it still is the memory file of this call (after a
    Ctrl-C the parent closes it, and may reuse the number for another file)."""
    opened = os.open(f"/proc/{parent}/fd/{fd}", flags | os.O_CLOEXEC)
    if _identity(opened) != identity:
        os.close(opened)
        raise RuntimeError("the call this unit belonged to is over")
    return opened


def _map_fd(parent: int, fd: int, identity: tuple[int, int], size: int) -> mmap.mmap:
    opened = _open_fd(parent, fd, identity, os.O_RDONLY)
    try:
        return mmap.mmap(opened, size, access=mmap.ACCESS_READ)
    finally:
        os.close(opened)


def _work(job: Job, task: list[tuple[int, int, int]]) -> tuple[float, float]:
    """Encode the units ``(index, first, last)`` of ``task`` (texts ``first:last`` of ``job``) into its output
    rows; returns the (wall, CPU) seconds it took."""
    wall, cpu = time.perf_counter(), time.thread_time()
    model = _worker_model(job)
    texts = _map_fd(job.parent, job.texts_fd, job.inodes[0], job.texts_bytes)
    out = -1
    try:
        out = _open_fd(job.parent, job.out_fd, job.inodes[1], os.O_WRONLY)
        for index, first, last in task:
            if job.kill:
                _maybe_die(job.kill, index)
            _unit(job, model, texts, out, first, last)
    finally:
        texts.close()
        if out >= 0:
            os.close(out)
    return time.perf_counter() - wall, time.thread_time() - cpu


def _unit(job: Job, model: StaticModel, texts: mmap.mmap, out: int, first: int, last: int) -> None:
    """Encode texts ``first:last`` of ``job`` (in the mapped ``texts``) into their rows of ``out``."""
    from . import _pooling

    table = model._table if job.keep is None else model._table[:, : job.keep]
    scales = model._scales
    head = (job.n + 1) * 8
    offsets = np.frombuffer(texts, dtype=np.int64, count=job.n + 1)[first : last + 1]
    begin, end = head + int(offsets[0]), head + int(offsets[-1]) - 1
    sizes = (offsets[1:] - offsets[:-1] - 1).astype(np.intp)
    del offsets  # a view of the mapping: it must go before the mapping closes
    piece = texts[begin:end]
    chunks = model._chunks
    if chunks is not None:
        ids, lengths = chunks.encode_joined(b" " + piece + b"         ", sizes)
    else:
        ids, lengths = model._tokenize_batch(_split(piece, sizes), first)
    rows = _scratch(last - first, table.shape[1])
    _pooling.mean_pool(table, ids, lengths, out=rows)
    if scales is not None:
        rows *= scales[: table.shape[1]]
    if job.normalize:
        np.copyto(rows, _pooling.l2_normalize(rows))
    if table.shape[1] != job.columns:
        rows = np.ascontiguousarray(rows[:, : job.columns])
    # written through the file, not a mapping: the kernel fills the memory file's pages without a page fault each
    data = memoryview(rows.data).cast("B")
    at, offset = 0, first * job.columns * 4
    while at < len(data):
        at += os.pwrite(out, data[at:], offset + at)


_scratches: list[Vector] = []


def _scratch(rows: int, columns: int) -> Vector:
    """A worker's float32 buffer of (rows, columns), reused across units (its pages stay mapped)."""
    if not _scratches or _scratches[0].size < rows * columns:
        _scratches[:] = [np.empty(rows * columns, dtype=np.float32)]
    return _scratches[0][: rows * columns].reshape(rows, columns)


def _split(raw: bytes, sizes: npt.NDArray[np.intp]) -> list[str]:
    """The texts of ``raw`` (UTF-8, joined by single spaces), by their byte ``sizes``."""
    result: list[str] = []
    at = 0
    for size in sizes.tolist():
        result.append(raw[at : at + size].decode("utf-8"))
        at += size + 1
    return result


def _maybe_die(hook: str, index: int) -> None:
    unit, _, marker = hook.partition(":")
    if int(unit) != index:
        return
    if marker:
        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return  # died once already: this time the unit runs
    os.kill(os.getpid(), signal.SIGKILL)
