"""A window feature that runs one kind of job (Evaluate, Train): its panel in a dock of the
bottom area, attached to its job, and the one way a request starts (dock shown, panel told,
job started), so the two features do not each write it."""
from __future__ import annotations


class JobFeature:
    """``panel`` (with ``attach(job)`` and ``started(request)``) in a dock titled ``title``,
    showing ``job`` (with ``start(request)``)."""

    def __init__(self, ctx, title: str, dock_name: str, panel, job):
        self.panel, self.job = panel, job
        self.dock = ctx.add_dock(title, panel, dock_name, group="bottom")
        panel.attach(job)

    def show(self) -> None:
        self.dock.show()
        self.dock.raise_()

    def run(self, request):
        """Show the dock and start ``request``; returns the job."""
        self.show()
        self.panel.started(request)
        self.job.start(request)
        return self.job
