from beacon_runtime.llm.port import ChatModel, Completion, LLMError, LLMTimeout, Prompt

__all__ = ["ChatModel", "Completion", "LLMError", "LLMTimeout", "Prompt"]
