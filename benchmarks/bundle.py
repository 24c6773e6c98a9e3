"""The desktop bundle's figures, from the last smoke run, into BENCHMARKS.md.

    python benchmarks/bundle.py dist/bundle-smoke.json      (bash packaging/smoke_bundle.sh --record)

Size, build time, time to the first window and to the first analysis come from the smoke run
(packaging/smoke_bundle.sh); what the bundle's CUDA parts weigh is measured here, in the bundle
itself, as what a CPU-only torch would leave out.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.report import write_section  # noqa: E402

GIB = 2**30
MIB = 2**20


def folder_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def cuda_parts(internal: Path) -> dict[str, int]:
    """What only a CUDA build of torch brings: NVIDIA's libraries, Triton, torch's CUDA code."""
    parts = {
        "nvidia/ (cuDNN, cuBLAS, NCCL, cuSPARSELt, ...)": internal / "nvidia",
        "triton/ (GPU kernel compiler)": internal / "triton",
        "cuda/ (cuda-bindings)": internal / "cuda",
    }
    sizes = {name: folder_size(path) for name, path in parts.items() if path.exists()}
    torch_cuda = sorted((internal / "torch" / "lib").glob("libtorch_cuda*.so"))
    torch_cuda += sorted((internal / "torch" / "lib").glob("libc10_cuda*.so"))
    if torch_cuda:
        names = ", ".join(p.name for p in torch_cuda)
        sizes[f"torch/lib: {names}"] = sum(p.stat().st_size for p in torch_cuda)
    return sizes


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    smoke_file = Path(argv[0] if argv else "dist/bundle-smoke.json")
    figures = json.loads(smoke_file.read_text(encoding="utf-8"))
    bundle = smoke_file.parent / "mmstudio"
    internal = bundle / "_internal"
    total = figures["size_bytes"]
    parts = cuda_parts(internal)
    cuda_total = sum(parts.values())
    rows = "\n".join(
        f"| {name} | {size / MIB:,.0f} MiB | {size / total:.0%} |" for name, size in parts.items()
    )
    load = figures.get("build_load_average")
    build_load = "" if load is None else f" (load average {load} as it ended)"
    body = f"""
Built with {figures["tool"]} from the wheel and the locked dependencies (torch {figures["torch"]},
Python {figures["python"]}); checked by `packaging/smoke_bundle.sh` (empty HOME,
HF_HUB_OFFLINE=1, network namespace: {figures["network_isolation"]}). Timed on a machine shared
with other jobs ({figures["cpus"]} cores, load average {figures["smoke_load_average"]} at the end of the
smoke run): treat the times as upper bounds.

| what | figure |
|---|---:|
| bundle size (`dist/mmstudio/`) | {total / GIB:.2f} GiB in {figures["files"]:,} files |
| build time (`make bundle`) | {figures["build_seconds"] / 60:.1f} min{build_load} |
| launch to first window | {figures["first_window_seconds"]:.1f} s |
| launch to first analysis (example "all agree: seven") | {figures["first_analysis_seconds"]:.1f} s |
| `mmstudio predict` on a shipped sample, whole process | {figures["cli_predict_seconds"]:.1f} s |

What only CUDA needs, measured in this bundle: **{cuda_total / GIB:.2f} GiB of
{total / GIB:.2f} GiB ({cuda_total / total:.0%})**, which a CPU-only torch would not ship.

| CUDA-only part | size | share of the bundle |
|---|---:|---:|
{rows}

A CPU-only build of the same torch set (torch, torchvision and torchaudio from PyTorch's CPU
index, all three at the locked versions) would bring the bundle to about
{(total - cuda_total) / GIB:.1f} GiB. The only CPU-only torch on this machine is torch 2.13.0+cpu,
which does not match the locked torchvision 0.26.0 and torchaudio 2.11.0: `import torchvision`
fails with `RuntimeError: operator torchvision::nms does not exist` and `import torchaudio` with
`OSError: Could not load this library: .../torchaudio/lib/_torchaudio.abi3.so`. So it is not
shipped; a CPU-only bundle needs the whole matched CPU set, tested like the CUDA one.
"""
    path = write_section("Desktop bundle", body, "packaging/smoke_bundle.sh --record")
    print(f"wrote the desktop bundle's figures to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
