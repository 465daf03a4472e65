"""The optional LLM brain (see docs/llm.md). Off unless an API key or base URL is configured."""
