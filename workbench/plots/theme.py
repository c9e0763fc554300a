"""The workbench's figures follow the page's light or dark theme, with no kernel round trip:
every figure is transparent (:func:`themed`, used by every figure builder), and
:func:`theme_css` (shipped with every panel and the dashboard as :func:`theme_style`) recolours
plotly's text, grid and axis lines on a dark page: JupyterLab's dark theme, Voila's
``--theme=dark`` (or ``?theme=dark``), and a Voila page in a browser that prefers dark.

Example:
    >>> "prefers-color-scheme: dark" in theme_css()
    True
"""

from __future__ import annotations

from typing import Any

__all__ = ["CLEAR", "GRID", "theme_css", "theme_style", "themed"]


#: Transparent paper and plot: the page's own background shows through (light or dark).
CLEAR = "rgba(0,0,0,0)"
#: Grid and zero lines that show on a white page and on a dark one.
GRID = "rgba(128,128,128,0.25)"

_DARK_PLOT_RULES = """
{p} .js-plotly-plot .main-svg :is([class*="axislayer"], .infolayer, .annotation) text:is(
  [style*="fill: rgb(42, 63, 95)"], [style*="fill: rgb(68, 68, 68)"]) {{
  fill: #e6edf3 !important; }}
{p} .js-plotly-plot .main-svg :is(.gridlayer, .zerolinelayer) path {{
  stroke: rgba(240, 246, 252, 0.16) !important; }}
{p} .js-plotly-plot .main-svg :is(.xlines-above, .ylines-above, .xlines-below, .ylines-below) {{
  stroke: rgba(240, 246, 252, 0.4) !important; }}
{p} .js-plotly-plot .main-svg .legend rect.bg {{ fill: transparent !important; }}
{p} .js-plotly-plot .modebar-group {{ background: transparent !important; }}
{p} .js-plotly-plot .modebar-btn path {{ fill: rgba(230, 237, 243, 0.55) !important; }}
"""

#: What a Voila page in the default (light) theme turns into when the browser prefers dark:
#: JupyterLab's own colour variables, set to its dark theme's values, so that the page, the
#: widgets and the panels' HTML follow the browser without a kernel round trip.
_VOILA_DARK_VARIABLES = """
  --jp-layout-color0: #111111; --jp-layout-color1: #111111; --jp-layout-color2: #212121;
  --jp-layout-color3: #424242; --jp-layout-color4: #616161;
  --jp-ui-font-color0: rgba(255, 255, 255, 1); --jp-ui-font-color1: rgba(255, 255, 255, 0.87);
  --jp-ui-font-color2: rgba(255, 255, 255, 0.54); --jp-ui-font-color3: rgba(255, 255, 255, 0.38);
  --jp-content-font-color0: rgba(255, 255, 255, 1);
  --jp-content-font-color1: rgba(255, 255, 255, 0.87);
  --jp-content-font-color2: rgba(255, 255, 255, 0.54);
  --jp-content-font-color3: rgba(255, 255, 255, 0.38);
  --jp-border-color0: #616161; --jp-border-color1: #616161; --jp-border-color2: #424242;
  --jp-border-color3: #212121; --jp-rendermime-table-row-background: #212121;
  --jp-rendermime-table-row-hover-background: #424242;
  --jp-widgets-color: rgba(255, 255, 255, 0.87);
  --jp-widgets-label-color: rgba(255, 255, 255, 0.87);
  --jp-widgets-readout-color: rgba(255, 255, 255, 0.87);
  --jp-widgets-input-color: rgba(255, 255, 255, 0.87);
  --jp-widgets-input-background-color: #212121; --jp-widgets-input-border-color: #616161;
  --jp-widgets-input-focus-border-color: #4493f8;
  color-scheme: dark; background: #111111; color: rgba(255, 255, 255, 0.87);
"""


def theme_css() -> str:
    """The CSS that makes the workbench's plotly figures follow the page's light or dark theme.

    Plotly writes its text, grid and axis colours inline; on a dark page its default-coloured
    text (titles, ticks, legends, annotations; not a colour a figure chose, nor heatmap cells)
    and its grid are recoloured (``!important`` beats the inline fills). A dark page is
    JupyterLab's dark theme (``body[data-jp-theme-light="false"]``, also Voila's
    ``--theme=dark`` or ``?theme=dark``) and, when the browser prefers dark, a Voila page in its
    default light theme, which then takes JupyterLab's dark colour variables. The figures
    themselves are transparent (:func:`themed`)."""
    jupyter_dark = 'body[data-jp-theme-light="false"]'
    voila_auto = 'body[data-voila][data-jp-theme-light="true"]'
    return (
        _DARK_PLOT_RULES.format(p=jupyter_dark)
        + "@media (prefers-color-scheme: dark) {\n"
        + f"{voila_auto} {{{_VOILA_DARK_VARIABLES}}}\n"
        + _DARK_PLOT_RULES.format(p=voila_auto)
        + "}\n"
    )


def theme_style() -> str:
    """:func:`theme_css` as a ``<style>`` element, for an HTML widget or an HTML output."""
    return f"<style class='wb-theme'>{theme_css()}</style>"


def themed(fig: Any) -> Any:
    """``fig`` with transparent paper and plot backgrounds (the page's own colour shows through)
    and grey grid lines, for every figure the workbench draws; :func:`theme_css` recolours its
    text on a dark page.

    Example:
        >>> import plotly.graph_objects as go
        >>> themed(go.Figure()).layout.paper_bgcolor
        'rgba(0,0,0,0)'
    """
    fig.update_layout(paper_bgcolor=CLEAR, plot_bgcolor=CLEAR)
    fig.update_xaxes(gridcolor=GRID, zerolinecolor=GRID)
    fig.update_yaxes(gridcolor=GRID, zerolinecolor=GRID)
    return fig
