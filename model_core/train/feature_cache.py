"""Decoded model inputs per video, computed once and reused by every epoch and run.

Decoding a frame and computing a log-mel costs far more than a training step of the demo
model, so training reads from this cache: per video, the frame at the middle of every
whole 1 s segment, resized to the model's input size exactly as inference resizes it
(:func:`model_core.media.frames.resize_frame`, via ``VideoReader.read_at_time(t, size)``),
as uint8, and the log-mel of the 1 s of audio centred on it
(:func:`model_core.features.log_mel` of :func:`model_core.features.windows_for_times`, the
same samples inference reads), as float32. Both are ``.npy`` files opened memory-mapped,
so a data set larger than memory trains with the page cache doing the work.

Key. An entry is named by a hash of the file's *content* and the settings, so a renamed
or copied video hits the cache, and an edited one (same name, new bytes) misses it:
``blake2b(cache version, image size, audio settings, file size, blake2b(all file
bytes))``. Hashing reads the whole file (about 1 GB/s here, so a few hundred MB costs a
fraction of a second); a memo ``hashes.json`` keyed by (path, size, mtime_ns) skips even
that on later runs, and is only a shortcut: a file whose size or mtime changed is hashed
again.

Layout of the folder: ``<key>.frames.npy`` (S x H x W x 3 uint8), ``<key>.mels.npy``
(S x 1 x 64 x 101 float32), ``<key>.json`` (source name, size, segment count, which
segments decoded, whether the file has audio). Each file is written atomically and the
JSON last, so an entry exists only once complete; parallel builders (``--workers``,
several ranks) writing the same key write the same bytes.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from model_core.atomic import write_json, write_with
from model_core.errors import InputError

#: 2: frames turned by the video's display rotation, audio from the first stream that is
#: not silent: entries made before are stale for such files
CACHE_VERSION = 2
HASH_MEMO = "hashes.json"
_CHUNK = 1 << 20


def file_hash(path: str | os.PathLike) -> str:
    """blake2b-128 of every byte of the file (hex)."""
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def cache_settings(image_size: int) -> dict:
    """Everything besides the file's bytes that the cached arrays depend on."""
    from model_core import features as f

    return {"version": CACHE_VERSION, "image_size": int(image_size), "sample_rate": f.SAMPLE_RATE,
            "n_fft": f.N_FFT, "win_length": f.WIN_LENGTH, "hop_length": f.HOP_LENGTH,
            "n_mels": f.N_MELS, "window_s": f.WINDOW_SECONDS, "frame": "segment middle",
            "resize": "resize_frame"}


@dataclass
class CachedVideo:
    """One video's cached inputs: ``frames`` (S x H x W x 3 uint8, memory-mapped),
    ``mels`` (S x 1 x 64 x 101 float32), ``valid`` (S,) whether segment k decoded, and
    ``has_audio`` (False: the log-mels are of silence)."""

    key: str
    frames: np.ndarray
    mels: np.ndarray
    valid: np.ndarray
    has_audio: bool

    @property
    def n_segments(self) -> int:
        return len(self.valid)


def segment_count(duration: float) -> int:
    """1 s segments cached for a video of ``duration`` seconds: every one the file has,
    by the one rule (``model_core.formats.ave.segment_count``; the annotations' flags,
    from the same rule, pick the positives among them)."""
    from model_core.formats.ave import segment_count as rule

    return rule(duration, annotated=None)


def compute_video(path: str | os.PathLike, image_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """Decode one video into (frames, mels, valid, has_audio) as the cache stores them.

    Raises
    ------
    MediaError
        The file is not readable video.
    """
    from model_core.errors import MediaError
    from model_core.features import SAMPLE_RATE, log_mel, windows_for_times
    from model_core.media.audio import read_audio
    from model_core.media.frames import VideoReader

    with VideoReader(path) as reader:
        n = segment_count(reader.duration)
        times = [k + 0.5 for k in range(n)]
        frames = np.zeros((n, image_size, image_size, 3), np.uint8)
        valid = np.zeros(n, bool)
        for k, t in enumerate(times):
            try:
                frames[k] = reader.read_at_time(t, size=(image_size, image_size))
                valid[k] = True
            except MediaError:
                continue  # a damaged frame: this segment is left out (counted by the caller)
        has_audio = reader.info.has_audio
    audio = read_audio(path) if has_audio else np.zeros(0, np.float32)
    windows = windows_for_times(audio, SAMPLE_RATE, times)
    mels = log_mel(windows).numpy().astype(np.float32) if n else np.zeros((0, 1, 64, 101), np.float32)
    return frames, mels, valid, bool(has_audio)


class FeatureCache:
    """The cache folder for one image size (see the module docstring)."""

    def __init__(self, folder: str | os.PathLike, image_size: int):
        self.folder = Path(folder)
        self.image_size = int(image_size)
        self.settings = cache_settings(image_size)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(self.folder, f"cannot create the feature cache folder ({exc.strerror})") from None
        self._memo = self._read_memo()

    # -- keys -----------------------------------------------------------------------
    def _read_memo(self) -> dict:
        try:
            memo = json.loads((self.folder / HASH_MEMO).read_text())
            return memo if isinstance(memo, dict) else {}
        except (OSError, ValueError):
            return {}

    def save_memo(self) -> None:
        """Write the (path, size, mtime) -> content hash memo (merged with what is there)."""
        memo = self._read_memo()
        memo.update(self._memo)
        write_json(self.folder / HASH_MEMO, memo, indent=None)

    def key_for(self, path: str | os.PathLike) -> str:
        """The entry name of ``path`` under the current settings."""
        path = Path(path).resolve()
        st = path.stat()
        memo = self._memo.get(str(path))
        if memo and memo.get("size") == st.st_size and memo.get("mtime_ns") == st.st_mtime_ns:
            content = memo["hash"]
        else:
            content = file_hash(path)
            self._memo[str(path)] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "hash": content}
        text = json.dumps({"settings": self.settings, "size": st.st_size, "content": content},
                          sort_keys=True)
        return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()

    # -- entries --------------------------------------------------------------------
    def _paths(self, key: str) -> tuple[Path, Path, Path]:
        return (self.folder / f"{key}.frames.npy", self.folder / f"{key}.mels.npy",
                self.folder / f"{key}.json")

    def has(self, key: str) -> bool:
        return all(p.is_file() for p in self._paths(key))

    def build(self, path: str | os.PathLike, key: str) -> None:
        """Decode ``path`` and write its entry ``key`` (atomically, JSON last)."""
        frames, mels, valid, has_audio = compute_video(path, self.image_size)
        f_path, m_path, j_path = self._paths(key)
        write_with(f_path, lambda tmp: _save_npy(tmp, frames))
        write_with(m_path, lambda tmp: _save_npy(tmp, mels))
        write_json(j_path, {"source": Path(path).name, "size": os.path.getsize(path),
                            "segments": int(len(valid)), "valid": [bool(v) for v in valid],
                            "has_audio": has_audio, "settings": self.settings})

    def open(self, key: str) -> CachedVideo:
        """The entry ``key``, memory-mapped (read-only)."""
        f_path, m_path, j_path = self._paths(key)
        meta = json.loads(j_path.read_text())
        frames = np.load(f_path, mmap_mode="r", allow_pickle=False)
        mels = np.load(m_path, mmap_mode="r", allow_pickle=False)
        return CachedVideo(key, frames, mels, np.asarray(meta["valid"], bool), bool(meta["has_audio"]))


def _save_npy(path: Path, array: np.ndarray) -> None:
    # through a handle: np.save on a name not ending in .npy would append the extension
    with open(path, "wb") as fh:
        np.save(fh, array, allow_pickle=False)


def _build_one(args: tuple[str, int, str, str]) -> tuple[str, str | None]:
    """Worker: build one entry; returns (key, problem or None)."""
    folder, image_size, path, key = args
    import torch

    torch.set_num_threads(1)
    try:
        FeatureCache(folder, image_size).build(path, key)
        return key, None
    except InputError as exc:
        return key, exc.problem


def build_entries(cache: FeatureCache, paths: Sequence[str | os.PathLike], workers: int = 1,
                  progress: Callable[[int, int, str], None] | None = None
                  ) -> tuple[list[str | None], dict[str, str]]:
    """Make sure every video of ``paths`` has an entry; build missing ones.

    Returns ``(keys, failures)``: the key of each path (None where it failed) and
    ``{file name: problem}`` for videos that could not be decoded. ``progress(done,
    total, name)`` is called after each video. ``workers`` > 1 decodes in that many
    processes (spawned, one torch thread each).
    """
    keys = [cache.key_for(p) for p in paths]
    cache.save_memo()
    todo = [(str(cache.folder), cache.image_size, os.fspath(p), k)
            for p, k in zip(paths, keys) if not cache.has(k)]
    failures: dict[str, str] = {}
    done = len(paths) - len(todo)
    names = {k: Path(p).name for p, k in zip(paths, keys)}
    if progress:
        progress(done, len(paths), "")

    def _record(key: str, problem: str | None) -> None:
        nonlocal done
        done += 1
        if problem is not None:
            failures[names[key]] = problem
        if progress:
            progress(done, len(paths), names[key])

    if workers > 1 and len(todo) > 1:
        import multiprocessing as mp

        with mp.get_context("spawn").Pool(min(workers, len(todo))) as pool:
            for key, problem in pool.imap_unordered(_build_one, todo):
                _record(key, problem)
    else:
        for item in todo:
            try:
                cache.build(item[2], item[3])
                _record(item[3], None)
            except InputError as exc:
                _record(item[3], exc.problem)
    bad = {cache_key for cache_key, n in names.items() if n in failures}
    return [None if k in bad else k for k in keys], failures
