"""The packaging files without building (a build is large and slow: ``packaging/build.sh``).

The spec is Python that PyInstaller executes: it must compile, define the names the build
uses, name only files that exist, read the version from pyproject.toml, keep CUDA out of
the CPU variant and carry the macOS usage descriptions; the .desktop file must have the
keys a Linux desktop requires, and its icon must exist.
"""
from __future__ import annotations

import ast
import configparser
import os
import stat
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SPEC = REPO / "packaging" / "avsol.spec"
BUILD = REPO / "packaging" / "build.sh"
DESKTOP = REPO / "packaging" / "avsol-studio.desktop"


def _spec_tree() -> ast.Module:
    return ast.parse(SPEC.read_text(), filename=str(SPEC))


def _constant(name: str):
    """The literal value assigned to ``name`` at the spec's top level."""
    for node in _spec_tree().body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"avsol.spec assigns no {name}")


def test_spec_compiles_and_builds_both_programs():
    compile(SPEC.read_text(), str(SPEC), "exec")
    called = {n.func.id for n in ast.walk(_spec_tree()) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert {"Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE"} <= called
    text = SPEC.read_text()
    assert '"avsol-viewer"' in text and '"avsol"' in text


def test_every_file_the_spec_names_exists():
    resources = _constant("RESOURCES")
    assert {dest for _, dest in resources} == {"resources/demo", "resources/models", "resources/icons"}
    for src, _ in resources:
        assert (REPO / src).is_dir(), src
    for name in ("ENTRY_VIEWER", "ENTRY_CLI", "ICON", "DESKTOP_FILE"):
        path = REPO / _constant(name)
        assert path.is_file(), f"{name} = {path} does not exist"
    # what the self-test needs is among them
    for f in ("demo/demo.mp4", "models/avc.pt", "models/cls.pt", "models/dnm.pt", "icons/avsol-studio.png"):
        assert (REPO / "resources" / f).is_file(), f


def test_entry_points_compile_and_call_the_package_mains():
    for name, target in (("ENTRY_VIEWER", "avsol_viewer.app"), ("ENTRY_CLI", "model_core.cli")):
        src = (REPO / _constant(name)).read_text()
        compile(src, name, "exec")
        assert f"from {target} import main" in src and "freeze_support()" in src


def test_version_comes_from_pyproject_and_macos_descriptions_are_set():
    text = SPEC.read_text()
    assert 'tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]' in text
    assert "NSCameraUsageDescription" in text and "NSMicrophoneUsageDescription" in text


def test_cpu_variant_drops_cuda_and_unused_qt():
    cuda = _constant("CUDA_LIBS")
    for lib in ("libtorch_cuda", "libcudnn", "libcublas", "libnccl"):
        assert lib in cuda
    excludes = _constant("EXCLUDES")
    assert "triton" in excludes and "PySide6.QtQuick" in excludes and "PySide6.QtWebEngineCore" in excludes
    # the tests' references stay out (their compiled parts need a CUDA torch; the app never
    # imports them: tests/test_install.py), and so does their metadata
    for ref in ("torchvision", "torchaudio", "sklearn", "scipy"):
        assert ref in excludes
    assert not {"torchvision", "torchaudio", "scikit-learn"} & set(_constant("METADATA"))
    # what the app (and pyqtgraph at import) loads must not be excluded
    for kept in ("PySide6.QtCore", "PySide6.QtGui", "PySide6.QtWidgets", "PySide6.QtSvg",
                 "PySide6.QtOpenGL", "PySide6.QtOpenGLWidgets", "PySide6.QtTest"):
        assert kept not in excludes


def test_keep_binary_filters_by_variant():
    """The spec's own filter, run on typical destination names (PyInstaller's globals stubbed)."""
    tree = _spec_tree()
    wanted = {"keep_binary"}
    nodes = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in wanted]
    consts = [n for n in tree.body if isinstance(n, ast.Assign)
              and getattr(n.targets[0], "id", "") in ("CUDA_LIBS", "CUDA_PACKAGES", "ALWAYS_DROPPED", "QT_PLUGINS_KEPT",
                                                     "QT_PLATFORMS_KEPT", "TORCH_UNUSED", "RUNTIME_DROPPED")]
    for variant, cuda_kept in (("cpu", False), ("cuda", True)):
        ns = {"VARIANT": variant}
        exec(compile(ast.Module(body=consts + nodes, type_ignores=[]), "spec", "exec"), ns)
        keep = ns["keep_binary"]
        assert keep("torch/lib/libtorch_cpu.so") and keep("cv2/../opencv_python_headless.libs/libavcodec.so")
        assert keep("libportaudio.so.2") and keep("PySide6/Qt/plugins/platforms/libqoffscreen.so")
        assert keep("torch/lib/libtorch_cuda.so") is cuda_kept
        assert keep("nvidia/cudnn/lib/libcudnn.so.9") is cuda_kept
        assert keep("libnvJitLink.so.13") is cuda_kept  # names compared in lower case
        assert keep("cuda/bindings/_bindings/cydriver.so") is cuda_kept
        assert not keep("triton/backends/nvidia/lib/libcuda_utils.so")
        assert not keep("PySide6/Qt/plugins/sqldrivers/libqsqlite.so")
        assert not keep("PySide6/Qt/lib/libQt6Quick.so.6")
        assert keep("PySide6/Qt/lib/libQt6Widgets.so.6")
        # torch's own C++ tests and protoc go, its shared-memory manager stays
        assert not keep("torch/test/c10_small_vector_test") and not keep("torch/bin/protoc")
        assert not keep("torch/bin/test_api") and not keep("torch/lib/libtorchbind_test.so")
        assert keep("torch/bin/torch_shm_manager")
        # desktop platforms and offscreen only; no Qt translations
        for plugin, kept in (("libqxcb.so", True), ("libqwayland.so", True), ("libqoffscreen.so", True),
                             ("libqeglfs.so", False), ("libqvnc.so", False), ("libqlinuxfb.so", False)):
            assert keep(f"PySide6/Qt/plugins/platforms/{plugin}") is kept, plugin
        assert not keep("PySide6/Qt/translations/qtbase_de.qm")
        assert not keep("PySide6/Qt/lib/libQt6EglFSDeviceIntegration.so.6")
        # OpenVINO: the core, the CPU plugin, the ONNX and IR readers; ONNX Runtime: its Python module
        for lib, kept in (("libopenvino.so.2641", True), ("libopenvino_intel_cpu_plugin.so", True),
                          ("libopenvino_onnx_frontend.so.2641", True), ("libopenvino_ir_frontend.so.2641", True),
                          ("libopenvino_intel_gpu_plugin.so", False), ("libopenvino_intel_npu_plugin.so", False),
                          ("libopenvino_auto_batch_plugin.so", False), ("libopenvino_c.so.2641", False),
                          ("libopenvino_pytorch_frontend.so.2641", False), ("cache.json", False)):
            assert keep(f"openvino/libs/{lib}") is kept, lib
        assert keep("onnxruntime/capi/onnxruntime_pybind11_state.cpython-311-x86_64-linux-gnu.so")
        assert not keep("onnxruntime/capi/libonnxruntime.so.1.32.0")
        assert not keep("torch-2.13.0+cpu.dist-info/RECORD") and keep("torch-2.13.0+cpu.dist-info/METADATA")


def test_build_script_is_valid_bash_and_executable():
    assert BUILD.stat().st_mode & stat.S_IXUSR
    subprocess.run(["bash", "-n", str(BUILD)], check=True)
    text = BUILD.read_text()
    assert "--self-test" in text and "path with spaces" in text
    assert "the CPU bundle holds CUDA libraries" in text  # checked on what was built


def test_cpu_build_venv_gets_no_cuda_and_no_test_references():
    """build.sh's requirement filter for a CPU build venv, run on the lock: the lock without
    torch (installed first, as +cpu), torchvision, torchaudio, triton and the CUDA wheels."""
    import re

    line = next(ln for ln in BUILD.read_text().splitlines() if "grep -viE '^(torch|" in ln)
    pattern = re.search(r"grep -viE '([^']+)'", line).group(1)
    lock = [ln for ln in (REPO / "requirements.lock").read_text().splitlines() if re.match(r"[a-z0-9]", ln)]
    kept = [ln for ln in lock if not re.match(pattern, ln, re.I)]
    names = {ln.split("==")[0] for ln in kept}
    assert names and not {n for n in names if n.startswith(("torch", "nvidia-", "cuda-", "triton"))}, names
    assert {"pyside6-essentials", "av", "opencv-python-headless", "numpy"} <= names


def test_desktop_file_has_the_required_keys():
    cp = configparser.ConfigParser(interpolation=None)
    cp.optionxform = str
    cp.read(DESKTOP)
    entry = cp["Desktop Entry"]
    for key in ("Type", "Name", "Exec", "Icon"):
        assert entry.get(key), key
    assert entry["Type"] == "Application"
    assert entry["Exec"].split()[0] == "avsol-viewer"
    assert (REPO / "resources" / "icons" / f"{entry['Icon']}.png").is_file()
    assert entry["Categories"].endswith(";")


def _spec_function(name: str, **namespace):
    node = next(n for n in _spec_tree().body if isinstance(n, ast.FunctionDef) and n.name == name)
    ns = {"os": os, "sys": __import__("sys"), **namespace}
    exec(compile(ast.Module(body=[node], type_ignores=[]), "spec", "exec"), ns)
    return ns[name]


@pytest.mark.parametrize("variant,cuda,refused", [("cpu", "13.0", True), ("cpu", None, False),
                                                  ("cuda", "13.0", False)])
def test_cpu_bundle_refuses_a_cuda_torch(monkeypatch, variant, cuda, refused):
    """The CUDA build's libtorch.so needs libtorch_cuda.so: a CPU bundle of it could not start."""
    import types

    fake = types.SimpleNamespace(__version__="2.14.1", version=types.SimpleNamespace(cuda=cuda))
    monkeypatch.setitem(__import__("sys").modules, "torch", fake)
    monkeypatch.delenv("AVSOL_BUNDLE_FORCE", raising=False)
    check = _spec_function("check_torch_variant", VARIANT=variant)
    if refused:
        with pytest.raises(SystemExit, match="CUDA 13.0 build"):
            check()
    else:
        check()


def test_symlinks_to_dropped_libraries_are_dropped():
    drop = _spec_function("drop_dangling")
    toc = [("libQt6Network.so.6", "PySide6/Qt/lib/libQt6Network.so.6", "SYMLINK"),
           ("libQt6Core.so.6", "PySide6/Qt/lib/libQt6Core.so.6", "SYMLINK"),
           ("PySide6/Qt/lib/libQt6Core.so.6", "/venv/PySide6/Qt/lib/libQt6Core.so.6", "BINARY")]
    data = [("libQt6EglFSDeviceIntegration.so.6", "PySide6/Qt/lib/libQt6EglFSDeviceIntegration.so.6", "SYMLINK"),
            ("resources/demo/demo.mp4", "/repo/resources/demo/demo.mp4", "DATA")]
    assert drop(toc, data) == (toc[1:], data[1:])


def test_link_duplicates_keeps_one_copy_in_the_package_folder():
    link = _spec_function("link_duplicates")
    src = "/venv/site-packages/torch/lib/libtorch_cpu.so"
    toc = [("libtorch_cpu.so", src, "BINARY"), ("torch/lib/libtorch_cpu.so", src, "BINARY"),
           ("libportaudio.so.2", "/usr/lib/libportaudio.so.2", "BINARY"),
           ("resources/demo/demo.mp4", "/repo/resources/demo/demo.mp4", "DATA")]
    assert link(toc) == [("libtorch_cpu.so", "torch/lib/libtorch_cpu.so", "SYMLINK"), *toc[1:]]
