"""Sphinx extension of the course site: badge images come from the build, not from the web.

Every notebook's title cell carries an "Open in Colab" badge whose image is Colab's remote SVG
(``aae_utils.links.COLAB_BADGE_IMAGE``). The notebooks keep it, since GitHub, JupyterLab and
Colab show it there; on the site it would be the one thing a page loads from the network, and a
lecturer offline sees a broken image. This transform swaps each known remote badge for a copy
drawn for the course (``site/_static/badges/``), which Sphinx then copies into ``_images/`` like
any local figure. A remote image it does not know is reported as a build warning, so a new
badge cannot quietly bring the network back (tests/test_site.py also checks every built page).

Registered in ``site/_config.yml`` under ``sphinx: local_extensions``.
"""

from __future__ import annotations

import os
from pathlib import Path

from docutils import nodes
from sphinx.transforms import SphinxTransform
from sphinx.util import logging

logger = logging.getLogger(__name__)

BADGE_DIR = Path(__file__).resolve().parent.parent / "_static" / "badges"

#: Remote badge image -> local file in BADGE_DIR. Keep in step with aae_utils.links.
BADGES = {
    "https://colab.research.google.com/assets/colab-badge.svg": "open-in-colab.svg",
    "https://mybinder.org/badge_logo.svg": "launch-binder.svg",
}


class LocalBadges(SphinxTransform):
    """Point image nodes with a known remote badge URI at the local copy."""

    # Runs while a document is read, before Sphinx's image collector (doctree-read) decides
    # which images to copy: a rewritten URI is then copied like any local figure.
    default_priority = 400

    def apply(self, **kwargs) -> None:
        for image in self.document.findall(nodes.image):
            uri = image.get("uri", "")
            if "://" not in uri:
                continue
            local = BADGES.get(uri)
            if local is None:
                logger.warning("remote image %s needs the network to show; add a local copy to "
                               "site/_ext/local_badges.py's BADGES", uri, location=image)
                continue
            # A leading "/" makes Sphinx read the path from the source root (the repository).
            image["uri"] = "/" + Path(os.path.relpath(BADGE_DIR / local, self.env.srcdir)).as_posix()
            image["candidates"] = {}


def setup(app):
    app.add_transform(LocalBadges)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
