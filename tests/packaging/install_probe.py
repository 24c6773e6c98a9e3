"""Run inside an installed environment (python -I install_probe.py): prints, as JSON, where
mmstudio was imported from and which of the wheel's declared requirements that environment
fails to meet. Standard library and `packaging` only, so it runs before anything is trusted."""

from __future__ import annotations

import json
import sys
from importlib import metadata

from packaging.requirements import Requirement


def unmet_requirements(distribution: metadata.Distribution) -> list[str]:
    unmet = []
    for line in distribution.requires or []:
        requirement = Requirement(line)
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue  # an extra (dev, scale): not part of a plain install
        try:
            found = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            unmet.append(f"{requirement} (not installed)")
            continue
        if not requirement.specifier.contains(found, prereleases=True):
            unmet.append(f"{requirement} (found {found})")
    return unmet


def main() -> None:
    import mmstudio
    from mmstudio.resources import icons_dir, resources_dir, samples_dir

    distribution = metadata.distribution("mmstudio")
    metadata_file = next(f for f in distribution.files or [] if f.name == "METADATA")
    print(
        json.dumps(
            {
                "executable": sys.executable,
                "mmstudio": mmstudio.__file__,
                "metadata": str(distribution.locate_file(metadata_file)),
                "resources": str(resources_dir()),
                "samples": str(samples_dir()),
                "icons": str(icons_dir()),
                "sys_path": sys.path,
                "meta_path": [repr(finder) for finder in sys.meta_path],
                "unmet": unmet_requirements(distribution),
            }
        )
    )


if __name__ == "__main__":
    main()
