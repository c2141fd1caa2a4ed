"""Sphinx configuration of the course website (MyST-NB renders notebooks that nbval already executed).

Built by docs/site/build.py, which lays the sources out in a staging folder (index.md,
notebooks/*.ipynb, docs/instructors.md) with the same relative paths as the repository,
so a page's path is its notebook's path in the repository.
"""

from __future__ import annotations

import html

try:    # the one place that knows the repository, once it lands (issue 22)
    from grokkit.course.links import BRANCH, REPOSITORY, binder_url, colab_url
except ModuleNotFoundError as error:
    if error.name not in ("grokkit.course.links", "grokkit", "grokkit.course"):
        raise
    # Until grokkit.course.links exists, the repository the launch links open is this
    # constant (owner/name on GitHub). A fork changes it here, or better, in that module.
    REPOSITORY = "grokkit/grokkit"
    BRANCH = "main"

    def binder_url(path: str) -> str:
        """Binder (JupyterLab) on one file of the repository."""
        return f"https://mybinder.org/v2/gh/{REPOSITORY}/{BRANCH}?urlpath=lab/tree/{path}"

    def colab_url(path: str) -> str:
        """Google Colab on one notebook of the repository."""
        return f"https://colab.research.google.com/github/{REPOSITORY}/blob/{BRANCH}/{path}"

project = "grokkit"
author = "grokkit contributors"
copyright = "grokkit contributors"
html_title = "grokkit: a hands-on course on grokking"

extensions = ["myst_nb"]
# The notebooks come executed (by nbval in the test suite); never run them again here.
nb_execution_mode = "off"
nb_merge_streams = True
myst_heading_anchors = 3
myst_enable_extensions = ["dollarmath", "amsmath"]
exclude_patterns = ["_build", "**.ipynb_checkpoints"]

html_theme = "sphinx_book_theme"
html_theme_options = {
    "repository_url": f"https://github.com/{REPOSITORY}",
    "repository_branch": BRANCH,
    "use_repository_button": True,
    "home_page_in_toc": True,
    "show_toc_level": 2,
    "use_download_button": False,
}
html_static_path: list[str] = []
html_show_sourcelink = False
html_copy_source = False        # executed notebooks are large; the repository has the sources


def _launch_links(app, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Put Binder and Colab links at the top of every notebook page."""
    if doctree is None or "body" not in context:
        return
    source = app.env.doc2path(pagename, base=False)
    path = str(source).replace("\\", "/")
    if not path.endswith(".ipynb"):
        return
    links = (f'<p class="grokkit-launch">Run this notebook: '
             f'<a class="grokkit-launch-binder" href="{html.escape(binder_url(path))}">Binder</a> · '
             f'<a class="grokkit-launch-colab" href="{html.escape(colab_url(path))}">Colab</a></p>\n')
    context["body"] = links + context["body"]


def setup(app) -> dict:
    """Register the launch links."""
    app.connect("html-page-context", _launch_links)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
