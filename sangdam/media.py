"""`GET /media/{path}`: the bot pack's own images (`<pack>/media/`), for every channel.

It lives in the composition root, not in a channel adapter: Kakao and Slack cards show these images
too, and they must load even when the web channel is turned off. Only the image files found in the
pack's media folder when the gateway starts are served (a fixed index, so no path from a request ever
reaches the file system: no traversal, no hidden files, no other types).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from litestar import Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

from core.pack.media import MEDIA_TYPES, URL_PREFIX, media_files

CACHE_CONTROL = "public, max-age=86400"  # a day; change a file's name to change an image at once


class _Entry:
    __slots__ = ("content_type", "etag", "path")

    def __init__(self, path: Path) -> None:
        self.path = path
        self.content_type = MEDIA_TYPES[path.suffix.lower()]
        stat = path.stat()
        self.etag = (
            '"' + hashlib.sha256(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:16] + '"'
        )


def media_route(pack_root: str | Path) -> Any:
    index = {name: _Entry(path) for name, path in media_files(pack_root).items()}

    @get(URL_PREFIX + "{name:path}", include_in_schema=False, sync_to_thread=True)
    def media(request: Request[Any, Any, Any], name: FromPath[str]) -> Response[bytes]:
        entry = index.get(name.lstrip("/"))
        if entry is None:
            raise NotFoundException(detail="no such image")
        headers = {
            "Cache-Control": CACHE_CONTROL,
            "ETag": entry.etag,
            "X-Content-Type-Options": "nosniff",
            "Access-Control-Allow-Origin": "*",  # the widget shows them on customers' own sites
        }
        if request.headers.get("if-none-match") == entry.etag:
            return Response(b"", status_code=304, headers=headers)
        return Response(entry.path.read_bytes(), media_type=entry.content_type, headers=headers)

    return media
