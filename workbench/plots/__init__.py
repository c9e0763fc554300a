"""Plots of the panels and reports (plotly): each function takes arrays or tables and returns a
``plotly.graph_objects.Figure``; none reads workbench state.

Modules (import the one you need; nothing is imported here, so ``import workbench`` stays fast):
``classification`` (ROC, precision-recall, confusion matrix at the positive label),
``regression`` (predicted vs actual, residuals), ``importance`` (permutation feature
importance), ``fairness`` (a metric by slice with the limit drawn, candidate vs champion),
``evaluation`` (those of a fitted model on held-out rows, as stage 1 keeps them), ``drift``
(the drift heatmap and history lines), ``files`` (saving figures as HTML and JSON),
``theme`` (transparent figures and the CSS that recolours them on a dark page).
"""
