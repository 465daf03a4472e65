"""Images that ship inside a bot pack (`<pack>/media/`), served by the gateway at `/media/<name>`.

A pack writes `image_url: media/ax3000-reset-button.png` (FAQ entries) or `image: media/...` (scenario
steps); the pack loader checks that the file exists, and the gateway rewrites such values into absolute
URLs under its public URL (`public_url` setting), because channels need absolute ones (Kakao refuses
anything but http(s) URLs). Absolute http(s) URLs are used as written.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from urllib.parse import quote

import msgspec

from core.pack.schema import BotPack

MEDIA_DIR = "media"
URL_PREFIX = "/media/"
# Only images are served; no SVG (it can carry scripts, and Kakao does not show it).
MEDIA_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}


def is_web_url(value: str) -> bool:
    return value.startswith(("https://", "http://"))


def media_problem(root: Path, value: str) -> str | None:
    """Why `value` is neither a web address nor an image file of the pack's media/ folder; None if fine."""
    if is_web_url(value):
        return None
    path = PurePosixPath(value)
    if "\\" in value or path.is_absolute() or "://" in value:
        return f"`{value}` is neither a web address nor a path inside the pack"
    if path.parts[:1] != (MEDIA_DIR,) or len(path.parts) < 2:
        return f"`{value}` is not in the pack's {MEDIA_DIR}/ folder"
    if any(part in ("..", ".") or part.startswith(".") for part in path.parts):
        return f"`{value}` must name a file inside {MEDIA_DIR}/ (no `..` or hidden names)"
    if path.suffix.lower() not in MEDIA_TYPES:
        return f"`{value}` is not an image the gateway serves ({', '.join(sorted(MEDIA_TYPES))})"
    if not (root / path).is_file():
        return f"`{value}` does not exist in the pack"
    return None


def media_files(root: str | Path) -> dict[str, Path]:
    """The servable files of `<root>/media/`, by their path below it ("ax3000-reset-button.png")."""
    folder = Path(root) / MEDIA_DIR
    if not folder.is_dir():
        return {}
    found: dict[str, Path] = {}
    for path in sorted(folder.rglob("*")):
        name = path.relative_to(folder).as_posix()
        if (
            path.is_file()
            and path.suffix.lower() in MEDIA_TYPES
            and not any(p.startswith(".") for p in name.split("/"))
        ):
            found[name] = path
    return found


def public_base(public_url: str) -> str:
    return public_url.rstrip("/")


def media_url(value: str, public_url: str) -> str:
    """An absolute URL for an image value: web addresses as written, `media/x.png` under the gateway."""
    if is_web_url(value):
        return value
    return public_base(public_url) + "/" + quote(value.lstrip("/"), safe="/")


def resolve_media(pack: BotPack, public_url: str) -> BotPack:
    """The pack with every pack-relative FAQ `image_url` and step `image` made absolute."""

    def url(value: str | None) -> str | None:
        return media_url(value, public_url) if value else value

    faq = [
        msgspec.structs.replace(entry, image_url=url(entry.image_url)) if entry.image_url else entry
        for entry in pack.faq
    ]
    scenarios = {
        scenario_id: msgspec.structs.replace(
            scenario,
            steps={
                step_id: msgspec.structs.replace(step, image=url(step.image)) if step.image else step
                for step_id, step in scenario.steps.items()
            },
        )
        for scenario_id, scenario in pack.scenarios.items()
    }
    return msgspec.structs.replace(pack, faq=faq, scenarios=scenarios)
