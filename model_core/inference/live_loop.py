"""Live mode on the map engine: newest frame + last 1 s of sound -> maps, continuously.

SPEC 7 (live) and SPEC 8 (live targets). Two threads, so neither input waits on the other:

- the **audio** thread ticks at ~10 Hz (``audio_hz``): each tick the log-mel tail the
  viewer's scrolling spectrogram shows (what the model hears), and each model's embedding
  of the last ``audio_window_s`` seconds heard (its own window: 1 s for our heads, 3 s for
  EZ-VSL, 10 s for LVS; one log-mel for all our heads, each model's audio trunk once: the
  engine's :func:`~model_core.inference.engine.embed_windows`, per window length) every
  tick while that costs at most :data:`AUDIO_CPU_SHARE` of one core (its CPU in every
  thread) or the visual trunk leaves the cores room (:data:`AUDIO_BOUND_WHEN_BUSY`), else
  every k-th tick (:func:`refresh_every`; a new audio source at once), so the visual trunk
  keeps the cores. The live ring (``live_sources.RING_SECONDS``) holds the longest window;
- the **visual** thread takes the newest captured frame (a one-slot mailbox in the frame
  source: frames replaced before it gets to them are never queued, the latest wins) and
  runs every model's visual trunk on it paired with the newest embedding (the engine's
  :func:`~model_core.inference.engine.predict_frames`; the frame as captured, each model
  resizing and cropping it as its family does, or, when every model takes the same
  squashed square (``engine.decode_size``), the frame the capture thread already resized
  to it: ``LiveFrame.model_input``), then hands a :class:`LiveMaps` to ``on_maps`` (the
  viewer posts it to the GUI thread). Each pass tells the camera when the next frame will
  be wanted (``LiveFrames.wanted_at``), so a file camera converts only the frames taken.

Each thread adds its CPU seconds by stage to :attr:`LiveLoop.stage_cpu` (the camera to
``LiveFrames.cpu_s``): what ``benchmarks/bench_live.py`` reports per map beside the bare
pass.

The models are the caller's, already loaded: in the viewer, the map worker's, built through
its ``--backend`` / ``--precision`` (:mod:`model_core.inference.backends`), so each visual
trunk runs on that backend at batch 1 here (torch until the compiled trunk is ready) and
live mode has no backend option of its own.

The sources come from :class:`~model_core.inference.live_sources.LiveSpec` and are opened
in these threads. A device that fails (none found, PortAudio missing, unplugged) is
reported through ``on_problem(kind, message)`` and retried every ``retry_s``; while the
microphone is missing the maps are computed on silence (flagged), and ``on_problem(kind,
None)`` says it is back. :class:`LiveStats` holds the HUD's figures. Qt-free.

The loop and the sources it opens read the time from one ``clock`` (``time.monotonic``
unless given): the pacing of the file sources, the retry delays and the HUD's times, so a
test advances a clock by hand instead of sleeping and hoping the machine kept up.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable

import numpy as np

from model_core.errors import DeviceError
from model_core.inference.audio_window import SAMPLE_RATE
from model_core.inference.engine import EmbeddingCache, decode_size, embed_windows, one_line, predict_frames
from model_core.inference.live_sources import LiveAudio, LiveFrame, LiveFrames, LiveSpec, SilentLive
from model_core.inference.map_cache import MapEntry

#: Seconds of audio in the scrolling spectrogram.
SPECTROGRAM_SECONDS = 5.0
#: HUD figures are taken over this many recent seconds.
STATS_WINDOW_S = 5.0
#: The most of one core the audio embedding may take: it is refreshed every k-th tick
#: of the audio thread (``audio_hz``), k the smallest for which its measured CPU time per
#: refresh fits in this share of k ticks. The window slides slowly (1 s heard, 0.1 s a
#: tick): a cheap audio trunk is refreshed every tick, a costly one less often, and the
#: visual trunk keeps the rest of the cores. The cost is the refresh's CPU in every thread
#: (torch's OpenMP worker, a compiled runtime's pool): the audio thread's own CPU times
#: the ratio of all to own measured on a refresh while no pass ran (:meth:`LiveLoop._refresh`);
#: the audio thread's own CPU alone was about half of it on torch's two threads, so the
#: cap let the refresh take twice its share. A full-size head's refresh (log-mel ~1 ms +
#: the audio ResNet-18) took 18 ms of the audio thread's CPU on the 2-core development
#: machine, 1.7-2.8 times that in all threads; the demo heads' small trunks stay at 10 Hz
#: (``benchmarks/README.md``, live).
AUDIO_CPU_SHARE = 0.05
#: ... a bound that applies while the visual thread spends at least this fraction of its
#: time in passes (``LiveLoop.visual_busy``: the trunk, not the camera, limits the maps).
#: Below it the cores have room (the demo heads: a 30 fps camera, trunks of a few ms) and
#: the embedding is refreshed every tick.
AUDIO_BOUND_WHEN_BUSY = 0.8
#: The camera is told the next frame is wanted this fraction of the expected pass after a
#: pass begins (``LiveFrames.wanted_at``; the expectation: a moving average of the passes):
#: a little early, so that a pass shorter than usual finds its frame converted more often
#: than it waits for the conversion.
WANTED_EARLY = 0.9


@dataclass
class LiveMaps:
    """Every model's map of one captured frame."""

    frame: LiveFrame
    entries: dict            # model key -> MapEntry
    audio_first: int         # first 16 kHz sample of the window heard (stream samples)
    silent: bool             # computed on silence (no microphone)
    done: float              # the loop's clock when the maps were ready


def refresh_every(cost_s: float, period_s: float, share: float | None = None) -> int:
    """The k of :data:`AUDIO_CPU_SHARE`: refresh every k-th tick of ``period_s`` so that
    ``cost_s`` (CPU seconds of one refresh) is at most ``share`` of one core (k >= 1;
    ``share`` None: :data:`AUDIO_CPU_SHARE` as it is when called)."""
    share = AUDIO_CPU_SHARE if share is None else float(share)
    if not cost_s > 0:
        return 1
    return max(1, int(np.ceil(cost_s / (share * period_s) - 1e-9)))


class LiveStats:
    """Rolling HUD figures (thread-safe): refresh rate, capture-to-overlay latency, counts.
    Times are ``clock()`` seconds (the loop's clock)."""

    def __init__(self, window_s: float = STATS_WINDOW_S, clock: Callable[[], float] = time.monotonic):
        self.window_s = window_s
        self.clock = clock
        self._lock = threading.Lock()
        self._maps: deque = deque()        # clock times maps were ready
        self._latency: deque = deque()     # (shown time, capture-to-overlay seconds)
        self.mapped = 0
        self.audio_refreshes = 0

    def _trim(self, now: float) -> None:
        while self._maps and self._maps[0] < now - self.window_s:
            self._maps.popleft()
        while self._latency and self._latency[0][0] < now - self.window_s:
            self._latency.popleft()

    def record_maps(self, done: float) -> None:
        with self._lock:
            self.mapped += 1
            self._maps.append(done)
            self._trim(done)

    def record_overlay(self, captured: float, shown: float | None = None) -> None:
        """The maps of a frame captured at ``captured`` are on screen now (or at ``shown``)."""
        shown = self.clock() if shown is None else shown
        with self._lock:
            self._latency.append((shown, shown - captured))
            self._trim(shown)

    def refresh_hz(self, now: float | None = None) -> float:
        with self._lock:
            self._trim(self.clock() if now is None else now)
            t = list(self._maps)
        if len(t) < 2 or t[-1] <= t[0]:
            return 0.0
        return (len(t) - 1) / (t[-1] - t[0])

    def latency_ms(self, now: float | None = None) -> tuple[float, float]:
        """(median, p95) capture-to-overlay latency in ms over the window (nan if none)."""
        with self._lock:
            self._trim(self.clock() if now is None else now)
            lat = [x for _, x in self._latency]
        if not lat:
            return float("nan"), float("nan")
        a = np.asarray(lat) * 1000.0
        return float(np.median(a)), float(np.percentile(a, 95))


class LiveLoop:
    """The two live threads over the engine's steps; see the module docstring.

    Parameters
    ----------
    localizers : {model key: localizer} (the viewer's loaded models, a benchmark's).
    spec : the inputs to open (or pass ``open_frames`` / ``open_audio`` callables).
    on_maps : ``on_maps(LiveMaps)``, called in the visual thread.
    on_problem : ``on_problem(kind, message or None)``, kind ``camera`` / ``microphone``.
    on_spectrogram : ``on_spectrogram(log_mel (64, T) ndarray, end sample)`` at ~``audio_hz``.
    clock : seconds, monotonic; given to the sources ``spec`` opens, the retries and the HUD.
    cpu_clock : the calling thread's CPU seconds (``time.thread_time``): what one refresh of
        the audio embedding costs (:data:`AUDIO_CPU_SHARE`), and the per-stage accounting.
    process_cpu_clock : the process's CPU seconds, every thread (``time.process_time``): a
        refresh made while no visual pass runs gives the ratio of its CPU in all threads
        (torch's OpenMP workers, a compiled runtime's pool) to the audio thread's own,
        which then scales every refresh's own CPU (:attr:`audio_cost_s`).
    """

    def __init__(self, localizers: dict, spec: LiveSpec | None = None, on_maps: Callable | None = None,
                 on_problem: Callable | None = None, on_spectrogram: Callable | None = None,
                 audio_hz: float = 10.0, retry_s: float = 1.0, open_frames: Callable | None = None,
                 open_audio: Callable | None = None, spectrogram_seconds: float = SPECTROGRAM_SECONDS,
                 clock: Callable[[], float] = time.monotonic, cpu_clock: Callable[[], float] = time.thread_time,
                 process_cpu_clock: Callable[[], float] = time.process_time):
        spec = spec or LiveSpec()
        self.localizers = dict(localizers)
        self.clock = clock
        self.cpu_clock = cpu_clock
        self.process_cpu_clock = process_cpu_clock
        self.open_frames = open_frames or (lambda: spec.open_frames(clock))
        self.open_audio = open_audio or (lambda: spec.open_audio(clock))
        self.on_maps, self.on_problem, self.on_spectrogram = on_maps, on_problem, on_spectrogram
        self.audio_period = 1.0 / float(audio_hz)
        self.retry_s = float(retry_s)
        self.spectrogram_seconds = float(spectrogram_seconds)
        self.stats = LiveStats(clock=clock)
        self.problems: dict[str, str] = {}
        self.camera_name = self.microphone_name = ""
        self.latest: LiveMaps | None = None
        #: a :class:`~model_core.inference.live_record.LiveRecorder` fed every result, or None
        self.recorder = None
        self.frames: LiveFrames | None = None
        self.audio: LiveAudio | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._embedding: tuple | None = None     # (audio key, 1 s window key, {model: (row, key)}, silent)
        #: the audio embedding is refreshed every ``audio_every``-th audio tick
        #: (:func:`refresh_every` of ``audio_cost_s``, the CPU seconds of the last refresh)
        self.audio_every = 1
        #: fraction of the visual thread's time spent in passes (on ``clock``, a moving
        #: average over passes; 1 until a pass shows otherwise)
        self.visual_busy = 1.0
        self._pass_end: float | None = None
        self.audio_cost_s = 0.0
        self.audio_ticks = 0
        #: a refresh's CPU in all threads over the audio thread's own (None: not measured
        #: yet, or the models' backends changed since: measured again at the next refresh
        #: made while no pass runs)
        self.audio_cpu_ratio: float | None = None
        self._audio_backends = ""
        #: CPU seconds by stage (``cpu_clock``, each in its own thread): the visual thread's
        #: ``wait`` (for the frame and the embedding), ``pass`` (the models' step),
        #: ``publish`` (HUD, recorder, ``on_maps``); the audio thread's ``audio`` (its own
        #: part of the refreshes); ``passes`` counts passes
        self.stage_cpu = {"wait": 0.0, "pass": 0.0, "publish": 0.0, "audio": 0.0}
        #: the visual thread's ``clock`` seconds waiting for a frame and the embedding, and
        #: in passes (with ``stage_cpu``: a pass's CPU over its wall time)
        self.stage_wall = {"wait": 0.0, "pass": 0.0}
        self.passes = 0
        self._in_pass = False
        #: the visual pass's expected clock seconds (a moving average), 0 until one ran
        self.pass_s = 0.0
        #: model keys by the seconds of audio they hear (each length read and embedded once)
        self._windows: dict[float, list[str]] = {}
        for mk, loc in self.localizers.items():
            self._windows.setdefault(float(loc.audio_window_s), []).append(mk)
        self._emb_ready = threading.Event()
        #: the square every model takes (engine.decode_size), or None: frames as captured
        self._size = decode_size(list(self.localizers.values()))
        self._threads: list[threading.Thread] = []
        self._closed_counts = [0, 0, 0]          # captured, dropped, overruns of closed sources

    # -- control ------------------------------------------------------------------------
    def start(self) -> "LiveLoop":
        self._threads = [threading.Thread(target=self._guard, args=(self._audio_run,), name="avsol-live-audio",
                                          daemon=True),
                         threading.Thread(target=self._guard, args=(self._visual_run,), name="avsol-live-visual",
                                          daemon=True)]
        for t in self._threads:
            t.start()
        return self

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop both threads and close the sources; True when every thread ended."""
        self._stop.set()
        for t in self._threads:
            t.join(timeout)
        alive = any(t.is_alive() for t in self._threads)
        for src in (self.frames, self.audio):
            if src is not None:
                try:
                    src.close()
                except Exception:  # noqa: BLE001 - stopping must not fail
                    pass
        return not alive

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def counts(self) -> dict:
        """HUD counts: frames captured / dropped by the source / never mapped, audio overruns."""
        f, a = self.frames, self.audio
        captured = self._closed_counts[0] + (f.captured if f else 0)
        dropped = self._closed_counts[1] + (f.dropped if f else 0)
        overruns = self._closed_counts[2] + (a.overruns if a else 0)
        return {"captured": captured, "dropped": dropped, "unmapped": max(0, captured - self.stats.mapped),
                "overruns": overruns, "audio_refreshes": self.stats.audio_refreshes}

    # -- threads ------------------------------------------------------------------------
    def _guard(self, body) -> None:
        try:
            body()
        except Exception as exc:  # noqa: BLE001 - never a silent dead thread: say why
            self._problem("maps", one_line(exc))

    def _problem(self, kind: str, message: str | None) -> None:
        old = self.problems.get(kind)
        if message is None:
            self.problems.pop(kind, None)
        else:
            self.problems[kind] = message
        if old != message and self.on_problem is not None:
            self.on_problem(kind, message)

    def _audio_run(self) -> None:
        cache = EmbeddingCache(max_items=64)
        retry_at = 0.0
        ticks = 0                  # ticks since the last refresh of the embedding
        while not self._stop.is_set():
            tick = self.clock()
            if (self.audio is None or isinstance(self.audio, SilentLive)) and tick >= retry_at:
                try:
                    audio = self.open_audio()
                except DeviceError as exc:
                    self._problem("microphone", f"{exc} — maps computed on silence")
                    retry_at = tick + self.retry_s
                    if self.audio is None:
                        self.audio = SilentLive(clock=self.clock)
                else:
                    self._close_audio()
                    self.audio = audio
                    self.microphone_name = audio.name
                    self._problem("microphone", None)
            audio = self.audio
            assert audio is not None          # the first pass opens one: a microphone or silence
            try:
                audio.check()
            except DeviceError as exc:
                self._problem("microphone", f"{exc} — maps computed on silence")
                self._close_audio()
                audio = self.audio = SilentLive(clock=self.clock)
                retry_at = self.clock() + self.retry_s
            akey = audio.key
            ticks += 1
            self.audio_ticks += 1
            held = self._embedding
            if held is None or held[0] != akey or ticks >= self.audio_every:
                ticks = 0
                self._refresh(audio, akey, cache)
            if self.on_spectrogram is not None and self.spectrogram_seconds > 0:
                self._spectrogram(audio)
            self._stop.wait(max(0.0, self.audio_period - (self.clock() - tick)))
        self._close_audio()

    def _refresh(self, audio: LiveAudio, akey: str, cache: EmbeddingCache) -> None:
        """Refresh the embedding and its cost (:attr:`audio_cost_s`, CPU seconds in all
        threads): the audio thread's own CPU times :attr:`audio_cpu_ratio`, a ratio taken
        on a refresh during which no visual pass ran, so that the process's CPU was the
        refresh's (and the camera's, a little: it errs towards refreshing less often)."""
        backends = "+".join(str(getattr(loc, "backend_used", "")) for loc in self.localizers.values())
        if backends != self._audio_backends:      # a compiled runtime took over: measure again
            self._audio_backends, self.audio_cpu_ratio = backends, None
        held = self.audio_cpu_ratio is None and self._emb_ready.is_set()
        if held:   # hold the visual thread before its next pass while this refresh is measured
            self._emb_ready.clear()
            for _ in range(2000):
                if not self._in_pass or self._stop.is_set():
                    break
                self._stop.wait(0.001)
        passes, idle = self.passes, not self._in_pass
        cpu, proc = self.cpu_clock(), self.process_cpu_clock()
        try:
            computed = self._embed(audio, akey, cache)
        finally:
            if held:
                self._emb_ready.set()
        own, every = self.cpu_clock() - cpu, self.process_cpu_clock() - proc
        self.stage_cpu["audio"] += own
        if not computed:   # the window was cached (no new sound yet): it says nothing of the cost
            return
        if idle and not self._in_pass and self.passes == passes and own > 0:
            self.audio_cpu_ratio = max(1.0, every / own)
        self.audio_cost_s = own * (self.audio_cpu_ratio or 1.0)
        self.audio_every = (refresh_every(self.audio_cost_s, self.audio_period)
                            if self.visual_busy >= AUDIO_BOUND_WHEN_BUSY else 1)

    def _embed(self, audio: LiveAudio, akey: str, cache: EmbeddingCache) -> bool:
        """Every model's embedding of the last window it hears; publish them. False when
        every window was already cached (nothing computed)."""
        first = audio.last(1.0)[0]
        rows = {}
        computed = False
        for seconds, mkeys in self._windows.items():
            # each model its own length: the last `seconds` heard (keys per length, so a
            # 3 s window never shares an embedding with a 1 s one)
            wfirst, x = audio.last(seconds)
            wkey = akey if seconds == 1.0 else f"{akey}@{seconds:g}s"
            computed = computed or any((mk, wkey, wfirst) not in cache for mk in mkeys)
            embed_windows([self.localizers[k] for k in mkeys], mkeys, cache, wkey, [wfirst], lambda _k: x)
            rows.update({mk: (cache.get((mk, wkey, wfirst)), wfirst, seconds) for mk in mkeys})
        with self._lock:
            self._embedding = (akey, first, rows, bool(audio.silent))
        self.stats.audio_refreshes += 1
        self._emb_ready.set()
        return computed

    def _spectrogram(self, audio: LiveAudio) -> None:
        from model_core.features import log_mel

        if self.on_spectrogram is None:
            return
        first, x = audio.last(self.spectrogram_seconds)
        mel = log_mel(x)
        self.on_spectrogram(np.asarray(mel).reshape(mel.shape[-2], mel.shape[-1]), first + len(x))

    def _close_audio(self) -> None:
        a, self.audio = self.audio, None
        if a is not None:
            self._closed_counts[2] += a.overruns
            a.close()

    def _visual_run(self) -> None:
        last = -1
        retry_at = 0.0
        while not self._stop.is_set():
            if self.frames is None:
                if self.clock() < retry_at:
                    self._stop.wait(0.05)
                    continue
                try:
                    self.frames = self.open_frames()
                    # the capture thread resizes each frame to the models' input
                    self.frames.model_size = self._size
                    self.camera_name = self.frames.name
                    last = -1
                    self._problem("camera", None)
                except DeviceError as exc:
                    self._problem("camera", str(exc))
                    retry_at = self.clock() + self.retry_s
                    continue
            cpu, asked = self.cpu_clock(), self.clock()
            try:
                f = self.frames.latest(after=last, timeout=0.25)
            except DeviceError as exc:
                self._problem("camera", str(exc))
                self._close_frames()
                retry_at = self.clock() + self.retry_s
                continue
            if f is None or not self._emb_ready.wait(0.25):
                self.stage_cpu["wait"] += self.cpu_clock() - cpu
                self.stage_wall["wait"] += self.clock() - asked
                continue
            last = f.index
            began = self.clock()
            if self.pass_s > 0:      # the camera converts the frame wanted then, not those replaced before
                self.frames.wanted_at = began + WANTED_EARLY * self.pass_s
            t1 = self.cpu_clock()
            self._in_pass = True
            try:
                self.latest = result = self.predict(f)
            finally:
                self._in_pass = False
                self.passes += 1
            t2 = self.cpu_clock()
            self._busy(began, result.done)
            d = result.done - began
            self.pass_s = d if self.pass_s <= 0 else 0.8 * self.pass_s + 0.2 * d
            self.stats.record_maps(result.done)
            rec = self.recorder
            if rec is not None:
                rec.add(result)
            if self.on_maps is not None:
                self.on_maps(result)
            t3 = self.cpu_clock()
            self.stage_cpu["wait"] += t1 - cpu
            self.stage_cpu["pass"] += t2 - t1
            self.stage_wall["wait"] += began - asked
            self.stage_wall["pass"] += d
            self.stage_cpu["publish"] += t3 - t2
        self._close_frames()

    def _busy(self, began: float, done: float) -> None:
        """Update :attr:`visual_busy` with a pass from ``began`` to ``done`` (clock times):
        its share of the time since the previous pass ended (the wait for this frame
        included)."""
        prev, self._pass_end = self._pass_end, done
        if prev is None or done - prev <= 0:
            return
        share = min(1.0, max(0.0, (done - began) / (done - prev)))
        self.visual_busy = 0.8 * self.visual_busy + 0.2 * share

    def _close_frames(self) -> None:
        f, self.frames = self.frames, None
        if f is not None:
            self._closed_counts[0] += f.captured
            self._closed_counts[1] += f.dropped
            f.close()

    def predict(self, f: LiveFrame) -> LiveMaps:
        """Every model's map of ``f`` with the newest audio embedding (the engine's step)."""
        from model_core.media.frames import resize_frame

        with self._lock:
            embedding = self._embedding
        assert embedding is not None          # the engine predicts once the first one is ready
        akey, first, rows, silent = embedding
        cache = EmbeddingCache(max_items=len(rows) + 1)
        entries = {}
        size = self._size
        if size is None:
            frames = f.image[None]
        elif f.model_input is not None and f.model_input.shape[1::-1] == size:
            frames = f.model_input[None]      # resized in the capture thread
        else:
            frames = resize_frame(f.image, size)[None]
        for mkey, loc in self.localizers.items():
            row, wfirst, seconds = rows[mkey]
            centre = wfirst / SAMPLE_RATE + seconds / 2
            cache.put((mkey, akey, wfirst), row)
            pred = predict_frames(loc, mkey, cache, akey, frames, [wfirst])
            entries[mkey] = MapEntry(np.asarray(pred.maps[0], np.float32), float(pred.p_avc[0]),
                                     np.asarray(pred.class_probs[0], np.float32), float(f.time), float(centre),
                                     bool(silent))
        return LiveMaps(f, entries, first, bool(silent), self.clock())
