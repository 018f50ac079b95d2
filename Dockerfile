# syntax=docker/dockerfile:1
# The Nexus image that infra/terraform deploys on ECS: one image, three commands.
#   dagster-webserver --host 0.0.0.0 --port 3000 --workspace workspace.yaml   (the UI and GraphQL API)
#   dagster-daemon run --workspace workspace.yaml                            (automation, run queue, runs)
#   nexus run | nexus status | nexus feeds ...                                (the CLI, e.g. one-off tasks)
# Every Python package is pinned through constraints.txt; the runtime stage has no compiler and runs as `nexus`.
# Build: docker build -t nexus:$(git describe --tags --always) .

ARG PYTHON_IMAGE=python:3.11.7-slim-bookworm

# --- build: a virtualenv with the project (editable, so paths resolve to /opt/nexus) and the deploy extras ---------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /opt/nexus
RUN python -m venv /opt/venv
COPY pyproject.toml constraints.txt ./
COPY pipelines/ pipelines/
COPY assets/ assets/
COPY resources/ resources/
COPY dbt_project/ dbt_project/
COPY workspace.yaml ./
COPY deploy/daemon_workspace.yaml deploy/
RUN /opt/venv/bin/pip install -c constraints.txt -e ".[deploy]" \
    && /opt/venv/bin/python -m resources.dbt

# --- runtime ------------------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DAGSTER_HOME=/opt/dagster/dagster_home
RUN groupadd --system --gid 10001 nexus \
    && useradd --system --uid 10001 --gid nexus --home-dir /opt/nexus --shell /usr/sbin/nologin nexus
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=nexus:nexus /opt/nexus /opt/nexus
COPY --chown=nexus:nexus deploy/dagster.yaml ${DAGSTER_HOME}/dagster.yaml
WORKDIR /opt/nexus
# dbt writes target/ and logs/ in the project; local DuckDB files and a local lake go under lake/
RUN mkdir -p lake && chown nexus:nexus lake
USER 10001:10001
EXPOSE 3000
CMD ["dagster-webserver", "--host", "0.0.0.0", "--port", "3000", "--workspace", "workspace.yaml"]
