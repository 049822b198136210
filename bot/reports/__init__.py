"""Reports people look at rather than read: the eval page and the weekly owners' report.

Both are single self-contained HTML pages (inline CSS and an inline SVG plot, no script and
nothing fetched), so they open offline, attach to an email and survive being archived.
Rendered with Jinja2 with autoescaping on: every question, title and quote comes from
users or documents and is shown as text, never as markup.
"""
