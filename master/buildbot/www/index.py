"""`/` and the static files of the base UI (the `base` plugin of the `buildbot.www`
entry point group, the distribution buildbot-www).

`index.html` is a Jinja2 template (autoescaped) given `configjson` (the UI's
configuration as a JSON object that is safe inside a `<script>` block) and
`theme_css` (`:root{...}` from `c['www']['theme']`). Every other file of the UI's
static folder is served as it is; directories and unknown paths are 404s. Without
the UI installed, `/` answers a short page saying so, and the rest still works.
"""

from __future__ import annotations

import os
import struct
import zlib
from typing import TYPE_CHECKING, Any

from twisted.python import log
from twisted.web import resource, server, static

from buildbot.config.www import theme_css
from buildbot.www.auth import AsyncResource
from buildbot.www.config import to_json, ui_config

if TYPE_CHECKING:
    import jinja2

INDEX = "index.html"

NO_UI_PAGE = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Buildbot</title></head>
<body><h1>Buildbot</h1>
<p>The web UI package <code>buildbot-www</code> is not installed on this master.
Install it (<code>pip install buildbot-www</code>) to get the web interface;
the REST API is at <a href="api/v2">api/v2</a>.</p>
</body></html>
"""

# what json.dumps leaves that could end or confuse a <script> block
_SCRIPT_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def script_json(cfg: dict[str, Any]) -> str:
    """JSON of `cfg` that can be put inside <script>...</script> as is."""
    return to_json(cfg).translate(_SCRIPT_ESCAPES)


def _png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\0" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


# `/avatar` redirects to img/nobody.png when nobody has a picture; a UI without one
# gets this plain grey square
NOBODY_PNG = _png(16, 16, (0xB0, 0xB0, 0xB0))


class StaticFiles(static.File):
    """A static folder without directory listings."""

    def directoryListing(self) -> resource.Resource:
        return resource.NoResource()


class _Bytes(resource.Resource):
    isLeaf = True

    def __init__(self, content_type: bytes, body: bytes) -> None:
        super().__init__()
        self.content_type, self.body = content_type, body

    def render_GET(self, request: server.Request) -> bytes:
        request.setHeader(b"content-type", self.content_type)
        return self.body


class _Template:
    """index.html compiled once, and again when the file changes (a UI rebuild)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._stamp: tuple[float, int] | None = None
        self._template: jinja2.Template | None = None
        self._env: Any = None

    def get(self) -> jinja2.Template:
        st = os.stat(self.path)
        stamp = (st.st_mtime, st.st_size)
        if self._template is None or stamp != self._stamp:
            if self._env is None:
                # jinja2 is imported when the UI is first served, not at master start
                import jinja2

                self._env = jinja2.Environment(autoescape=True)
            with open(self.path, encoding="utf-8") as f:
                self._template = self._env.from_string(f.read())
            self._stamp = stamp
        return self._template


class IndexPage(AsyncResource):
    def __init__(self, www: Any, root: RootResource) -> None:
        super().__init__()
        self.www = www
        self.root = root

    async def render_async(self, request: server.Request) -> bytes:
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
        template = self.root.template()
        if template is None:
            return NO_UI_PAGE
        from markupsafe import Markup

        cfg = await ui_config(self.www, request)
        page = template.render(
            configjson=Markup(script_json(cfg)),
            theme_css=Markup(theme_css(self.www.config.get("theme"))),
        )
        request.setHeader(b"cache-control", b"no-cache")
        return page.encode("utf-8")


class RootResource(resource.Resource):
    """The site's root: named children (`api`, `ws`...) first, then the UI's files."""

    def __init__(self, www: Any) -> None:
        super().__init__()
        self.www = www
        self.page = IndexPage(www, self)
        self._template: _Template | None = None
        self._static: StaticFiles | None = None

    def set_ui(self, ui: Any | None) -> None:
        """Serve the files of `ui` (an Application) from now on; None = no UI."""
        if ui is None:
            self._template = self._static = None
            return
        self._static = StaticFiles(ui.static_dir)
        self._template = _Template(os.path.join(ui.static_dir, INDEX))

    def template(self) -> jinja2.Template | None:
        if self._template is None:
            return None
        try:
            return self._template.get()
        except OSError:
            log.msg(f"web UI: cannot read {self._template.path}")
            return None

    def getChild(self, path: bytes, request: server.Request) -> resource.Resource:
        if path in (b"", INDEX.encode()):
            return self.page
        static_files = self._static
        if path == b"img" and request.postpath == [b"nobody.png"]:
            if static_files is None or not os.path.isfile(
                os.path.join(static_files.path, "img", "nobody.png")
            ):
                return _Bytes(b"image/png", NOBODY_PNG)
        if static_files is None:
            return resource.NoResource()
        return static_files.getChild(path, request)

    def render_GET(self, request: server.Request) -> Any:
        # the site root without a trailing slash (only reachable under a path prefix)
        return self.page.render_GET(request)
