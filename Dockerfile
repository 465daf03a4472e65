FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY core ./core
COPY adapters ./adapters
COPY sangdam ./sangdam
COPY bots ./bots
COPY web_widget ./web_widget
RUN pip install --no-cache-dir -e .
EXPOSE 8080
CMD ["sangdam", "serve"]
