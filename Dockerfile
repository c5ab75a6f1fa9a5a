# Coinflip: one container, all state in /data. Build: docker build -t coinflip .
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
COPY requirements.lock /tmp/requirements.lock
RUN /opt/venv/bin/pip install --quiet -r /tmp/requirements.lock
WORKDIR /app
COPY pyproject.toml README.md ./
COPY app ./app
COPY templates ./templates
COPY static ./static
# Installed in place, so the app finds templates/ and static/ beside app/.
# pip and setuptools are for building: 26 MB the running image never uses.
# The translations compiled (`make translations`): the .mo files are build output, not in git.
RUN /opt/venv/bin/pip install --quiet --no-deps -e . \
    && /opt/venv/bin/pybabel compile --directory=app/translations --statistics \
    && /opt/venv/bin/python -m compileall -q app /opt/venv/lib \
    && find /opt/venv -name '*.dist-info' -path '*pip-*' -prune -o -name 'tests' -type d -prune -print | xargs rm -rf \
    && /opt/venv/bin/pip uninstall --quiet --yes pip setuptools

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    COINFLIP_DATA_DIR=/data \
    COINFLIP_HOST=0.0.0.0 \
    COINFLIP_PORT=8000
RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home coinflip \
    && mkdir -p /data && chown coinflip:coinflip /data
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
WORKDIR /app
USER coinflip
VOLUME /data
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["python", "-m", "app.healthcheck"]
ENTRYPOINT ["coinflip"]
CMD ["serve"]
