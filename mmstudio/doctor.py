"""``mmstudio doctor``: everything a bug report needs, gathered without opening a window.

Versions, the device a model would run on and its precision, which system components were
found (PortAudio, a camera, PulseAudio, the xcb libraries Qt's windows need) and where each
registered model's weights are.
"""

from __future__ import annotations

import glob
import json
import os
import platform
import subprocess
import sys
from typing import Any

import mmstudio
from mmstudio import system

PACKAGES = (
    "torch",
    "torchvision",
    "torchaudio",
    "PySide6",
    "transformers",
    "numpy",
    "pyqtgraph",
    "superqt",
    "pyarrow",
    "safetensors",
    "soundfile",
    "sounddevice",
    "pillow",
)


def versions() -> dict[str, str]:
    found = {"mmstudio": mmstudio.__version__, "Python": platform.python_version()}
    found.update({package: system.installed_version(package) for package in PACKAGES})
    found["platform"] = platform.platform()
    return found


def device_report(model: str | None = None) -> dict[str, Any]:
    try:
        import torch

        from mmstudio.models.device import describe_device, pick_device
    except Exception as error:  # a broken torch install is exactly what a report must show
        return {
            "device": "unknown",
            "problem": f"PyTorch does not import: {type(error).__name__}: {error}",
        }
    device = pick_device("auto")
    report: dict[str, Any] = {
        "device": describe_device(device),
        **model_precision(device, model),
        "cuda_available": torch.cuda.is_available(),
        "cuda_version": torch.version.cuda or "none",
    }
    if device.type == "cuda":
        report["bf16_supported"] = torch.cuda.is_bf16_supported()
        report["gpu_memory_gib"] = round(
            torch.cuda.get_device_properties(device).total_memory / 2**30, 1
        )
    return report


def model_precision(device, spec: str | None = None) -> dict[str, Any]:
    """The dtype the default model (or ``spec``) computes in on ``device``, measured by one
    small forward pass (autocast counts), and the dtype its weights are stored in."""
    from mmstudio.analysis import load_analyzer

    try:
        analyzer = load_analyzer(spec, device, explain=False)
        return precision_of(analyzer)
    except Exception as error:  # a model that cannot run is a finding of the report
        return {"precision": "unknown", "precision_problem": f"{type(error).__name__}: {error}"}


def precision_of(analyzer) -> dict[str, Any]:
    return {
        "precision": analyzer.probe_compute_dtype(),
        "weights_precision": analyzer.parameter_dtype,
        "precision_model": analyzer.model_name,
    }


def _portaudio() -> dict[str, Any]:
    soname, package = system.PORTAUDIO_LIBRARY
    if not system.can_load(soname):
        return {"found": False, "problem": f"{soname} is missing (install {package})"}
    try:
        import sounddevice

        inputs = [d for d in sounddevice.query_devices() if d["max_input_channels"] > 0]
    except Exception as error:
        return {"found": True, "problem": f"PortAudio is there but failed: {error}"}
    return {"found": True, "input_devices": len(inputs)}


def _camera() -> dict[str, Any]:
    if sys.platform.startswith("linux"):
        nodes = sorted(glob.glob("/dev/video*"))
        return {"found": bool(nodes), "devices": nodes}
    return {"found": None, "note": "cameras are listed by Qt Multimedia when live mode starts"}


def _pulseaudio() -> dict[str, Any]:
    soname, package = system.PULSE_LIBRARY
    library = system.can_load(soname)
    server = False
    if system.has_command("pactl"):
        try:
            server = (
                subprocess.run(["pactl", "info"], capture_output=True, timeout=5).returncode == 0
            )
        except (OSError, subprocess.TimeoutExpired):
            server = False
    return {
        "library": library,
        "server_running": server,
        **({} if library else {"problem": f"{soname} is missing (install {package})"}),
    }


def _xcb() -> dict[str, Any]:
    missing = system.missing_packages(system.XCB_LIBRARIES)
    return {"found": not missing, "missing_packages": missing}


def models_report() -> list[dict[str, Any]]:
    from mmstudio.models.registry import list_models

    return [
        {
            "name": e.name,
            "source": e.source,
            "task": e.task,
            "available": e.available,
            "weights": e.location,
            **({"problem": e.problem} if e.problem else {}),
        }
        for e in list_models()
    ]


def _model_problems() -> list[str]:
    from mmstudio.models.registry import registry_problems

    return registry_problems()


def collect(model: str | None = None) -> dict[str, Any]:
    """The report; ``model`` (a name or a folder) is the one whose precision is measured."""
    return {
        "versions": versions(),
        "device": device_report(model),
        "system": {
            "portaudio": _portaudio(),
            "camera": _camera(),
            "pulseaudio": _pulseaudio(),
            "xcb": _xcb(),
        },
        "display": {
            k: os.environ[k]
            for k in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
            if k in os.environ
        },
        "models": models_report(),
        "model_problems": _model_problems(),
    }


def _yes(value: Any) -> str:
    return {True: "found", False: "NOT FOUND", None: "unknown"}[value]


def _precision_line(device: dict[str, Any]) -> str:
    if "precision" not in device:
        return ""
    line = f" · computes in {device['precision']}"
    weights = device.get("weights_precision")
    if weights and weights != device["precision"]:
        line += f" (weights {weights})"
    if "precision_model" in device:
        line += f", measured with the model '{device['precision_model']}'"
    if "precision_problem" in device:
        line += f" ({device['precision_problem']})"
    return line


def format_report(report: dict[str, Any]) -> str:
    lines = ["mmstudio doctor", "", "Versions:"]
    lines += [f"  {name:<13} {value}" for name, value in report["versions"].items()]
    device = report["device"]
    lines += ["", f"Device: {device['device']}" + _precision_line(device)]
    if "problem" in device:
        lines.append(f"  problem: {device['problem']}")
    else:
        lines.append(
            f"  CUDA available: {device['cuda_available']} (build {device['cuda_version']})"
        )
    found = report["system"]
    lines += ["", "System components:"]
    audio = found["portaudio"]
    lines.append(
        f"  PortAudio (microphone): {_yes(audio['found'])}"
        + (f", {audio['input_devices']} input device(s)" if "input_devices" in audio else "")
        + (f" - {audio['problem']}" if "problem" in audio else "")
    )
    camera = found["camera"]
    lines.append(
        f"  camera: {_yes(camera['found'])} {' '.join(camera.get('devices', []))}".rstrip()
    )
    pulse = found["pulseaudio"]
    lines.append(
        f"  PulseAudio: library {_yes(pulse['library'])}, server "
        + ("running" if pulse["server_running"] else "not running")
    )
    xcb = found["xcb"]
    lines.append(
        f"  xcb libraries (Qt windows on X11): {_yes(xcb['found'])}"
        + (f" - missing {', '.join(xcb['missing_packages'])}" if xcb["missing_packages"] else "")
    )
    lines += ["", "Models:"]
    for model in report["models"]:
        state = "ready" if model["available"] else f"unavailable: {model.get('problem', '')}"
        lines.append(f"  {model['name']} [{model['source']}] {model.get('task', '')} {state}")
        if model["weights"]:
            lines.append(f"    weights: {model['weights']}")
    lines += [f"  refused: {problem}" for problem in report.get("model_problems", [])]
    return "\n".join(lines)


def run(as_json: bool = False, model: str | None = None) -> int:
    report = collect(model)
    print(json.dumps(report, indent=2) if as_json else format_report(report))
    return 0
