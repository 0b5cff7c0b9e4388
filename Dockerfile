# The LRS as a container: `lrs serve` by default, `lrs forward` with CMD ["forward"].
# Built in two stages so the image holds the installed package and nothing of the build.
FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml setup.cfg README.md wsgi.py ./
COPY lrs lrs
COPY plugins plugins
COPY conformance conformance
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.12-slim
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels \
    && useradd --system --uid 10001 --create-home --home-dir /home/lrs lrs
USER lrs
WORKDIR /home/lrs
# Bind every interface inside the container; set LRS_PUBLIC_URL to the address clients use.
ENV LRS_HOST=0.0.0.0 LRS_PORT=8000 LRS_LOG_FORMAT=json PYTHONUNBUFFERED=1
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health/ready' % os.environ.get('LRS_PORT', '8000'), timeout=4)"]
ENTRYPOINT ["lrs"]
CMD ["serve"]
