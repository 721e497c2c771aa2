"""The dbt models, seeds and tests as Dagster assets and checks."""


import dagster as dg
from dagster_dbt import DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets

from dagster_project.translator import FjordbankTranslator


def build_dbt_assets(project: DbtProject) -> dg.AssetsDefinition:
    translator = FjordbankTranslator(
        settings=DagsterDbtTranslatorSettings(enable_asset_checks=True, enable_code_references=True)
    )

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        dagster_dbt_translator=translator,
        name="fjordbank_dbt",
    )
    def fjordbank_dbt(context: dg.AssetExecutionContext, dbt: DbtCliResource):
        yield from dbt.cli(["build"], context=context).stream()

    return fjordbank_dbt
