"""Sphinx configuration of the course website (MyST-NB renders notebooks that nbval already executed).

Built by docs/site/build.py, which lays the sources out in a staging folder (index.md,
notebooks/*.ipynb, docs/instructors.md, and the Chinese section zh/index.md and
notebooks/zh/*.ipynb) with the same relative paths as the repository, so a page's path is
its notebook's path in the repository.
"""

from __future__ import annotations

import html

from grokkit.course.links import BRANCH, REPOSITORY, binder_url, colab_url  # the one place that names the repository

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


# The Chinese pages (notebooks/zh/) open the Chinese learner's edition (learner/zh/), in Chinese words.
CHINESE_PAGES, CHINESE_LEARNER = "notebooks/zh/", "learner/zh/"


def launch_target(path: str) -> tuple[str, str]:
    """(the notebook a page's launch links open, the words before them) for a page's source path."""
    if path.startswith(CHINESE_PAGES):
        return CHINESE_LEARNER + path[len(CHINESE_PAGES):], "运行这个笔记本（中文学生版）："
    return path, "Run this notebook: "


def _launch_links(app, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Put Binder and Colab links at the top of every notebook page."""
    if doctree is None or "body" not in context:
        return
    source = app.env.doc2path(pagename, base=False)
    path = str(source).replace("\\", "/")
    if not path.endswith(".ipynb"):
        return
    target, words = launch_target(path)
    links = (f'<p class="grokkit-launch">{words}'
             f'<a class="grokkit-launch-binder" href="{html.escape(binder_url(target))}">Binder</a> · '
             f'<a class="grokkit-launch-colab" href="{html.escape(colab_url(target))}">Colab</a></p>\n')
    context["body"] = links + context["body"]


def setup(app) -> dict:
    """Register the launch links."""
    app.connect("html-page-context", _launch_links)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
