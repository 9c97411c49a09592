"""One ``kedro run`` cannot both import a site and read what it imported.

``stackexchange_import`` writes the raw export as ``stackexchange_expert_data`` and
``stackexchange_experts``; in the ``stackexchange`` environment the other pipelines
read the same files as ``expert_data_raw`` and ``expert_reference_roster``. Two
names for one file are no edge in Kedro's graph, so in a combined run nothing
orders the readers after the writers: a first import fails with a bare "no
versions" error from the catalog, and a re-import silently trains on the previous
version. ``ImportRunHooks`` refuses such a run before any node runs.
"""

from __future__ import annotations

from kedro.framework.hooks import hook_impl
from kedro.pipeline import Pipeline

IMPORTED_AS = {
    "stackexchange_expert_data": "expert_data_raw",
    "stackexchange_experts": "expert_reference_roster",
}
"""Import output -> the dataset name the other pipelines read it under."""

IMPORT_COMMAND = (
    "kedro run --env stackexchange --pipelines=stackexchange_import "
    "--params stackexchange.site=<site>"
)


def check_import_run(pipeline: Pipeline) -> None:
    """Fail early when a run would read an export it is writing under another name.

    Args:
        pipeline: The (filtered) pipeline about to run.

    Raises:
        ValueError: Naming the dataset pairs and the two commands to use instead.
    """
    written, read = pipeline.all_outputs(), pipeline.inputs()
    pairs = [
        f"{w} (read as {r})"
        for w, r in IMPORTED_AS.items()
        if w in written and r in read
    ]
    if pairs:
        raise ValueError(
            f"This run imports a site and reads the import in the same run: it "
            f"writes {', '.join(pairs)}. Kedro cannot order a file written under "
            "one name before it is read under another, so the readers would load "
            "the previous import, or find none. Import first, on its own: "
            f"`{IMPORT_COMMAND}`, then run the other pipelines with the same "
            "--env and --params."
        )


class ImportRunHooks:
    """Refuses a run that combines ``stackexchange_import`` with its readers."""

    @hook_impl
    def before_pipeline_run(self, pipeline: Pipeline) -> None:
        """Check the pipeline before any node runs."""
        check_import_run(pipeline)
