"""A file's sound for the viewer, in memory that does not grow with the file's length.

Nothing holds the whole track. :func:`load_track` reads the sound once, in chunks, on a
short-lived thread (:class:`AudioLoader`; importing torch for the log-mel happens there,
off the GUI thread) and keeps only an *overview*: at most :data:`OVERVIEW_COLUMNS`
columns of ``model_core.features.spectrogram_for_display`` (the log-mel the model hears),
each the loudest of the columns of its time bin, so a 10 s clip keeps every column and a
10-hour film a 64 x 4096 picture. The rest is read when it is looked at:

- :meth:`TrackAudio.columns`: exact log-mel columns of any span, computed from the file
  (``model_core.media.audio.AudioReader`` reads windows by seeking) in tiles of
  :data:`TILE_COLUMNS` kept in a byte-bounded ``model_core.lru.LRU``, as the display's
  frames are; the spectrogram view asks for the visible span once zoomed in past the
  overview's resolution, and a :class:`ColumnsWorker` thread computes it
  (:meth:`TrackAudio.request_columns`).
- :meth:`TrackAudio.stream`: the samples for playback (:class:`StreamedSamples`), decoded
  in blocks just ahead of the play position by a feeder thread, so the audio callback
  only copies.

Colours are fixed dB levels (:data:`LEVELS_DB`), the same for every file: a silent track
is drawn black, where levels relative to the file's own maximum would stretch it to the
loudest colour.

Measured with ``python -m benchmarks.bench_viewer_memory`` (see its docstring).
"""
from __future__ import annotations

import logging
import threading

import numpy as np
from PySide6.QtCore import Signal

from model_core.lru import LRU

from avsol_viewer.workers import MailboxThread, TrackedThread

log = logging.getLogger(__name__)


#: Seconds of sound decoded and turned into spectrogram columns at a time while loading:
#: shorter chunks load a long file markedly slower (a fixed cost per chunk), longer ones
#: raise its peak memory for little gain (figures in ``benchmarks/README.md``).
CHUNK_SECONDS = 30.0
#: Most columns of the overview kept for the whole file (64 x 4096 float32 = 1 MB).
OVERVIEW_COLUMNS = 4096
#: Columns (10 ms each) of one tile of exact log-mel computed on demand, and the bytes
#: of tiles kept (a tile of 10 s is 256 kB: 64 tiles, ten minutes looked at).
TILE_COLUMNS = 1000
TILE_BYTES = 16 << 20
#: Fixed colour levels of the spectrogram (dB, as ``model_core.features``: relative to a
#: power of 1; digital silence is -100, a 1 kHz tone of amplitude 0.5 peaks at +35).
LEVELS_DB = (-80.0, 40.0)
#: Playback blocks: seconds decoded at a time, and how many are kept around the position.
BLOCK_SECONDS = 5.0
BLOCKS_KEPT = 6


def to_display(spec: np.ndarray) -> np.ndarray:
    """dB columns as uint8 on the fixed :data:`LEVELS_DB` scale (pyqtgraph's fast path)."""
    lo, hi = LEVELS_DB
    return np.clip((spec - lo) * (255.0 / (hi - lo)), 0, 255).astype(np.uint8)


class TrackAudio:
    """A file's sound as the viewer uses it (see the module docstring).

    ``overview`` is 64 x K float32 dB (row 0 = lowest band), column k covering
    ``[k, k + 1) * overview_step`` seconds (the loudest column of that bin), K at most
    :data:`OVERVIEW_COLUMNS`; ``exact_overview`` when every log-mel column is there
    (``overview_step`` is then one hop, and column k is centred on ``k * hop``).
    ``columns(j0, j1)`` gives exact columns; ``stream()`` the samples for playback.
    """

    def __init__(self, path: str, sample_rate: int, has_audio: bool, n_samples: int, overview: np.ndarray,
                 n_columns: int, mel_freqs: np.ndarray, stream_index: int | None = None, note: str = ""):
        from model_core.features import HOP_LENGTH

        self.path = path
        self.sample_rate = int(sample_rate)
        self.has_audio = bool(has_audio)
        self.n_samples = int(n_samples)
        self.overview = overview
        self.display = to_display(overview)
        self.n_columns = int(n_columns)
        self.hop_seconds = HOP_LENGTH / float(sample_rate)
        self.exact_overview = overview.shape[1] == self.n_columns
        self.overview_step = (self.hop_seconds if self.exact_overview
                              else self.n_columns * self.hop_seconds / max(overview.shape[1], 1))
        self.mel_freqs = mel_freqs
        self.stream_index = stream_index
        #: which audio stream is heard, when the file has several ("" otherwise)
        self.note = note
        self._tiles: LRU[int, np.ndarray] = LRU(max_bytes=TILE_BYTES, sizeof=lambda a: a.nbytes)
        self._reader = None
        self._lock = threading.Lock()   # tiles may be asked from the GUI and a worker
        self._worker: ColumnsWorker | None = None

    @property
    def duration(self) -> float:
        """Seconds of sound (of silence as long as the video when there is none)."""
        return self.n_samples / float(self.sample_rate)

    @property
    def nbytes(self) -> int:
        """Bytes held: the overview and the cached tiles (nothing grows with the file)."""
        return int(self.overview.nbytes + self.display.nbytes + self._tiles.nbytes)

    def _tile(self, k: int) -> np.ndarray:
        tile = self._tiles.get(k)
        if tile is None:
            tile = _exact_columns(self._audio_reader(), self.n_samples, k * TILE_COLUMNS,
                                  min(self.n_columns, (k + 1) * TILE_COLUMNS), self.has_audio)
            self._tiles.put(k, tile)
        return tile

    def _audio_reader(self):
        if self._reader is None:
            from model_core.media.audio import AudioReader

            # no whole-track cache: windows are read by seeking, a block or two kept
            self._reader = AudioReader(self.path, cache_seconds=0.0, block_seconds=BLOCK_SECONDS,
                                       stream=self.stream_index)
        return self._reader

    def columns(self, j0: int, j1: int) -> np.ndarray:
        """Exact log-mel columns ``[j0, j1)`` (clamped to the track), 64 x n float32 dB."""
        j0, j1 = max(0, int(j0)), min(self.n_columns, int(j1))
        if j1 <= j0:
            return np.zeros((self.overview.shape[0], 0), np.float32)
        if self.exact_overview:
            return self.overview[:, j0:j1]
        with self._lock:
            parts = [self._tile(k) for k in range(j0 // TILE_COLUMNS, (j1 - 1) // TILE_COLUMNS + 1)]
        whole = np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]
        off = (j0 // TILE_COLUMNS) * TILE_COLUMNS
        return whole[:, j0 - off:j1 - off]

    def request_columns(self, j0: int, j1: int, receiver) -> None:
        """Compute ``columns(j0, j1)`` off the GUI thread (reading and transforming a minute
        of a long file's sound takes about a second); ``receiver(j0, j1, uint8
        display columns)`` is called in the GUI thread. A newer request replaces one not
        started yet (scrolling computes only what is still looked at)."""
        if self._worker is None:  # one view shows a track: its receiver is connected once
            self._worker = ColumnsWorker(self)
            self._worker.ready.connect(receiver)
            self._worker.start()
        self._worker.request(j0, j1)

    def stream(self) -> "StreamedSamples":
        """The samples for one playback output (its own reader and feeder thread)."""
        return StreamedSamples(self.path, self.n_samples, self.sample_rate, self.has_audio, self.stream_index)

    def close(self) -> None:
        """Stop the columns worker and close the file the tiles are read from (a later
        ``columns`` reopens it)."""
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.stop_and_wait()
        with self._lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None


def _exact_columns(reader, n: int, j0: int, j1: int, has_audio: bool) -> np.ndarray:
    """Log-mel columns ``[j0, j1)`` of the track, from its samples around them (two hops of
    context either side, more than half an FFT window: equal to a call on the whole track)."""
    from model_core.features import HOP_LENGTH, N_MELS, SAMPLE_RATE, spectrogram_for_display

    if not has_audio:
        from model_core.features import DB_FLOOR

        return np.full((N_MELS, j1 - j0), DB_FLOOR, np.float32)
    a, b = j0 * HOP_LENGTH, min(n, j1 * HOP_LENGTH)
    ctx = 2 * HOP_LENGTH
    s0, s1 = max(0, a - ctx), min(n, b + ctx)
    x = reader.read(s0 / SAMPLE_RATE, s1 / SAMPLE_RATE)
    spec, _, _ = spectrogram_for_display(x, SAMPLE_RATE)
    k0 = (a - s0) // HOP_LENGTH
    out = spec[:, k0:k0 + (j1 - j0)]
    if out.shape[1] < j1 - j0:  # the last column(s) of a track not a whole hop long
        from model_core.features import DB_FLOOR

        out = np.concatenate([out, np.full((N_MELS, j1 - j0 - out.shape[1]), DB_FLOOR, np.float32)], axis=1)
    return np.ascontiguousarray(out, dtype=np.float32)


def load_track(path: str, duration: float | None = None, chunk_seconds: float = CHUNK_SECONDS,
               overview_columns: int = OVERVIEW_COLUMNS) -> TrackAudio:
    """Read ``path``'s sound once (silence of the video's length when it has none) and make
    its overview (see the module docstring), ``chunk_seconds`` at a time: the memory in
    flight is a chunk and the overview, whatever the length."""
    from model_core.features import HOP_LENGTH, N_MELS, SAMPLE_RATE, mel_frequencies, n_frames
    from model_core.media.audio import AudioReader

    with AudioReader(path, cache_seconds=0.0, block_seconds=chunk_seconds + 1.0) as reader:
        seconds = reader.duration if reader.has_audio else (duration or reader.duration)
        n = max(0, int(round(seconds * SAMPLE_RATE)))
        frames = n_frames(n)
        k = max(1, min(frames, int(overview_columns)))
        # column j of the track falls into overview bin j * k // frames
        overview = np.full((N_MELS, k), -np.inf, np.float32)
        step = max(HOP_LENGTH, int(chunk_seconds * SAMPLE_RATE) // HOP_LENGTH * HOP_LENGTH)
        cols = step // HOP_LENGTH
        for j0 in range(0, frames, cols):
            j1 = min(frames, j0 + cols)
            chunk = _exact_columns(reader, n, j0, j1, reader.has_audio)
            bins = np.arange(j0, j1, dtype=np.int64) * k // frames
            starts = np.flatnonzero(np.r_[True, bins[1:] != bins[:-1]])   # bins only grow
            into = bins[starts]
            overview[:, into] = np.maximum(overview[:, into], np.maximum.reduceat(chunk, starts, axis=1))
        overview[~np.isfinite(overview)] = -100.0
        has_audio = bool(reader.has_audio)
        choice = reader.choice
    return TrackAudio(path, SAMPLE_RATE, has_audio, n, overview, frames, mel_frequencies(),
                      choice.index, choice.describe())


class StreamedSamples:
    """A track's int16 samples for the audio callback, decoded just ahead of it.

    Looks like the array :class:`~avsol_viewer.playback.audio_output.AudioOutput` plays
    (``len``, ``dtype``, slices and integer-array indexing) but holds only
    :data:`BLOCKS_KEPT` blocks of :data:`BLOCK_SECONDS` around the play position. The
    callback never decodes: it records where it reads (:meth:`want`), and a feeder thread
    decodes the blocks there and just after; a block not decoded yet (right after a jump)
    plays as silence for the few ms the feeder takes. ``close`` stops the thread.
    """

    dtype = np.dtype(np.int16)

    def __init__(self, path: str, n_samples: int, sample_rate: int, has_audio: bool = True,
                 stream_index: int | None = None):
        self.path, self.n, self.rate = path, int(n_samples), int(sample_rate)
        self.has_audio, self.stream_index = has_audio, stream_index
        self.block = max(1, int(round(BLOCK_SECONDS * self.rate)))
        self._blocks: dict[int, np.ndarray] = {}   # swapped whole by the feeder (no lock needed)
        self._at = 0
        self._wake = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._feed, name="avsol-audio-feeder", daemon=True)
        self._thread.start()

    def __len__(self) -> int:
        return self.n

    def want(self, sample: int) -> None:
        """The play position moved to ``sample``: have its block and the next decoded."""
        b = int(sample) // self.block
        if b != self._at // self.block or b not in self._blocks:
            self._at = int(sample)
            self._wake.set()
        else:
            self._at = int(sample)

    def _feed(self) -> None:
        from model_core.media.audio import AudioReader

        reader = None
        try:
            while not self._stop:
                b = self._at // self.block
                need = [k for k in (b, b + 1) if 0 <= k * self.block < self.n and k not in self._blocks]
                if not need:
                    self._wake.wait(0.1)
                    self._wake.clear()
                    continue
                if reader is None:
                    reader = AudioReader(self.path, cache_seconds=0.0, block_seconds=BLOCK_SECONDS,
                                         stream=self.stream_index)
                k = need[0]
                x = reader.read(k * self.block / self.rate, (k + 1) * self.block / self.rate)
                blocks = dict(self._blocks)
                blocks[k] = np.clip(np.round(x * 32767.0), -32768, 32767).astype(np.int16)
                for old in sorted(blocks, key=lambda j: abs(j - b), reverse=True)[:max(0, len(blocks) - BLOCKS_KEPT)]:
                    del blocks[old]
                self._blocks = blocks
        except Exception:  # noqa: BLE001 - a damaged tail: the rest plays as silence
            log.debug("audio feeder of %s stopped", self.path, exc_info=True)
        finally:
            if reader is not None:
                reader.close()

    def _range(self, lo: int, hi: int) -> np.ndarray:
        """Samples ``[lo, hi)`` (inside the track) from the decoded blocks, zeros elsewhere."""
        out = np.zeros(max(0, hi - lo), np.int16)
        blocks = self._blocks
        for k in range(lo // self.block, (hi - 1) // self.block + 1 if hi > lo else 0):
            blk = blocks.get(k)
            if blk is None:
                continue
            a, b = max(lo, k * self.block), min(hi, (k + 1) * self.block)
            out[a - lo:b - lo] = blk[a - k * self.block:b - k * self.block]
        return out

    def __getitem__(self, key):
        if isinstance(key, slice):
            lo, hi, _ = key.indices(self.n)
            self.want(lo)
            return self._range(lo, max(lo, hi))
        idx = np.asarray(key, dtype=np.int64)
        if idx.size == 0:
            return np.zeros(idx.shape, np.int16)
        lo, hi = int(idx.min()), int(idx.max()) + 1
        self.want(lo)
        return self._range(lo, hi)[idx - lo]

    def close(self) -> None:
        self._stop = True
        self._wake.set()
        self._thread.join(5)


class ColumnsWorker(MailboxThread[tuple[int, int]]):
    """A track's exact columns computed in a thread of their own (one-slot mailbox, newest
    request wins): emits ``ready(j0, j1, display)`` with uint8 columns on the fixed levels."""

    ready = Signal(int, int, object)

    def __init__(self, track: TrackAudio, parent=None):
        super().__init__("avsol-spectrogram-columns", parent)
        self.track = track

    def request(self, j0: int, j1: int) -> None:
        self.post((int(j0), int(j1)))

    def run(self) -> None:
        while (span := self.take()) is not None:
            j0, j1 = span
            try:
                cols = to_display(self.track.columns(j0, j1))
            except Exception:  # noqa: BLE001 - a damaged file: the overview stays
                log.debug("spectrogram columns of %s failed", self.track.path, exc_info=True)
                continue
            self.ready.emit(j0, j1, cols)


class AudioLoader(TrackedThread):
    """Runs :func:`load_track` once; emits ``loaded(key, TrackAudio)`` or ``failed(key, msg)``."""

    loaded = Signal(str, object)
    failed = Signal(str, str)

    def __init__(self, key: str, path: str, duration: float, parent=None):
        super().__init__("avsol-audio-loader", parent)
        self.key, self.path, self.duration = key, path, duration

    def request_stop(self) -> None:
        self.requestInterruption()  # decoding a track is short; the caller waits for it

    def run(self) -> None:
        try:
            track = load_track(self.path, self.duration)
        except Exception as exc:  # noqa: BLE001 - MediaError or a decoder failure
            log.debug("audio of %s failed", self.path, exc_info=True)  # the window says why
            self.failed.emit(self.key, str(exc))
            return
        if not self.isInterruptionRequested():
            self.loaded.emit(self.key, track)
