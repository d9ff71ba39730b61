"""Realistic frames for every GA event type, written from the protocol reference.

Each is a JSON object as a peer would send it. Server frames include the nulls
the real server sends where the schema says otherwise (see the spec README).
"""

from __future__ import annotations

import base64
import math
import struct
from typing import Any


def pcm_tone(ms: int, hz: float = 220.0, rate: int = 24000) -> bytes:
    """A quiet sine tone as 16-bit little-endian PCM."""
    n = rate * ms // 1000
    return struct.pack(
        f"<{n}h", *(int(3000 * math.sin(2 * math.pi * hz * i / rate)) for i in range(n))
    )


AUDIO_100MS = base64.b64encode(pcm_tone(100)).decode("ascii")
AUDIO_20MS = base64.b64encode(pcm_tone(20)).decode("ascii")

FULL_SESSION: dict[str, Any] = {
    "type": "realtime",
    "object": "realtime.session",
    "id": "sess_C9CiUVUzUzYIssh3ELY1d",
    "model": "gpt-realtime",
    "output_modalities": ["audio"],
    "instructions": "You are a helpful assistant. Answer briefly.",
    "tools": [
        {
            "type": "function",
            "name": "get_weather",
            "description": "Current weather for a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        }
    ],
    "tool_choice": "auto",
    "max_output_tokens": "inf",
    "tracing": None,
    "truncation": "auto",
    "prompt": None,
    "expires_at": 1764328800,
    "audio": {
        "input": {
            "format": {"type": "audio/pcm", "rate": 24000},
            "transcription": None,
            "noise_reduction": None,
            "turn_detection": {
                "type": "server_vad",
                "threshold": 0.5,
                "prefix_padding_ms": 300,
                "silence_duration_ms": 500,
                "idle_timeout_ms": None,
                "create_response": True,
                "interrupt_response": True,
            },
        },
        "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "marin", "speed": 1.0},
    },
    "include": None,
}

TRANSCRIPTION_SESSION: dict[str, Any] = {
    "type": "transcription",
    "object": "realtime.transcription_session",
    "id": "sess_C9CiUVUzUzYIssh3ELY2x",
    "expires_at": 1764328800,
    "audio": {
        "input": {
            "format": {"type": "audio/pcmu"},
            "transcription": {"model": "gpt-4o-transcribe", "language": "en", "prompt": ""},
            "noise_reduction": {"type": "near_field"},
            "turn_detection": {"type": "semantic_vad", "eagerness": "low"},
        }
    },
    "include": ["item.input_audio_transcription.logprobs"],
}

USER_AUDIO_ITEM: dict[str, Any] = {
    "id": "item_C9CiUu0JMfFb2tDgTvEVz",
    "type": "message",
    "status": "completed",
    "role": "user",
    "content": [{"type": "input_audio", "transcript": None}],
}

ASSISTANT_ITEM_IN_PROGRESS: dict[str, Any] = {
    "id": "item_C9CiWqv2nS1kG3VVmXJvf",
    "type": "message",
    "status": "in_progress",
    "role": "assistant",
    "content": [],
}

ASSISTANT_ITEM_DONE: dict[str, Any] = {
    "id": "item_C9CiWqv2nS1kG3VVmXJvf",
    "type": "message",
    "status": "completed",
    "role": "assistant",
    "content": [{"type": "output_audio", "transcript": "It is sunny in Paris today."}],
}

FUNCTION_CALL_ITEM: dict[str, Any] = {
    "id": "item_C9CiXBS9hZo3AmSw3YbrF",
    "type": "function_call",
    "status": "completed",
    "name": "get_weather",
    "call_id": "call_Ts9ZCUdnYsVPxUnw",
    "arguments": '{"city":"Paris"}',
}

USAGE: dict[str, Any] = {
    "total_tokens": 1253,
    "input_tokens": 1121,
    "output_tokens": 132,
    "input_token_details": {
        "text_tokens": 1021,
        "audio_tokens": 100,
        "image_tokens": 0,
        "cached_tokens": 960,
        "cached_tokens_details": {"text_tokens": 960, "audio_tokens": 0, "image_tokens": 0},
    },
    "output_token_details": {"text_tokens": 30, "audio_tokens": 102},
}

RESPONSE_CREATED: dict[str, Any] = {
    "object": "realtime.response",
    "id": "resp_C9CiWl0hAidhBjLuUXxpq",
    "status": "in_progress",
    "status_details": None,
    "output": [],
    "conversation_id": "conv_C9CiUVz9QnHAmdKvCJHUo",
    "output_modalities": ["audio"],
    "max_output_tokens": "inf",
    "audio": {"output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "marin"}},
    "usage": None,
    "metadata": None,
}

RESPONSE_DONE: dict[str, Any] = {
    **RESPONSE_CREATED,
    "status": "completed",
    "output": [ASSISTANT_ITEM_DONE],
    "usage": USAGE,
}

RESPONSE_CANCELLED: dict[str, Any] = {
    **RESPONSE_CREATED,
    "id": "resp_C9CiZ2yFUf2xCvTb1t1Lm",
    "status": "cancelled",
    "status_details": {"type": "cancelled", "reason": "turn_detected"},
    "output": [],
    "conversation_id": None,
    "metadata": {"topic": "summary"},
    "usage": USAGE,
}

_IDS = {
    "response_id": "resp_C9CiWl0hAidhBjLuUXxpq",
    "item_id": "item_C9CiWqv2nS1kG3VVmXJvf",
    "output_index": 0,
    "content_index": 0,
}

SERVER_FRAMES: dict[str, list[dict[str, Any]]] = {
    "error": [
        {
            "type": "error",
            "event_id": "event_C9Cj1Rr7Wc0ahVIZgV8cX",
            "error": {
                "type": "invalid_request_error",
                "code": "conversation_already_has_active_response",
                "message": "Conversation already has an active response in progress.",
                "param": None,
                "event_id": "evt_client_42",
            },
        }
    ],
    "session.created": [
        {
            "type": "session.created",
            "event_id": "event_C9CiUBAo0a7PbQlcjtHLj",
            "session": FULL_SESSION,
        },
        {
            "type": "session.created",
            "event_id": "event_C9CiUBAo0a7PbQlcjtHLk",
            "session": TRANSCRIPTION_SESSION,
        },
    ],
    "session.updated": [
        {
            "type": "session.updated",
            "event_id": "event_C9CiUfq3xWd1uY4iYe5Jd",
            "session": {
                **FULL_SESSION,
                "output_modalities": ["text"],
                "tool_choice": {"type": "function", "name": "get_weather"},
                "truncation": {"type": "retention_ratio", "retention_ratio": 0.8},
                "tracing": {"workflow_name": "support", "group_id": "g1", "metadata": {"a": 1}},
                "audio": {
                    **FULL_SESSION["audio"],
                    "input": {**FULL_SESSION["audio"]["input"], "turn_detection": None},
                },
            },
        }
    ],
    "conversation.created": [
        {
            "type": "conversation.created",
            "event_id": "event_C9CiUbnVKMWnG6kQXuRjP",
            "conversation": {
                "id": "conv_C9CiUVz9QnHAmdKvCJHUo",
                "object": "realtime.conversation",
            },
        }
    ],
    "conversation.item.created": [
        {
            "type": "conversation.item.created",
            "event_id": "event_C9CiVRjVtJ6uDlaYbTgsk",
            "previous_item_id": None,
            "item": USER_AUDIO_ITEM,
        }
    ],
    "conversation.item.added": [
        {
            "type": "conversation.item.added",
            "event_id": "event_C9CiVRjVtJ6uDlaYbTgsl",
            "previous_item_id": "item_C9CiUu0JMfFb2tDgTvEVz",
            "item": ASSISTANT_ITEM_IN_PROGRESS,
        },
        {
            "type": "conversation.item.added",
            "event_id": "event_C9CiVRjVtJ6uDlaYbTgsm",
            "item": {
                "id": "item_sys_1",
                "type": "message",
                "role": "system",
                "status": "completed",
                "content": [{"type": "input_text", "text": "Speak French."}],
            },
        },
    ],
    "conversation.item.done": [
        {
            "type": "conversation.item.done",
            "event_id": "event_C9CiXy3a8Ba2DNtjn7cNn",
            "previous_item_id": "item_C9CiUu0JMfFb2tDgTvEVz",
            "item": ASSISTANT_ITEM_DONE,
        },
        {
            "type": "conversation.item.done",
            "event_id": "event_C9CiXy3a8Ba2DNtjn7cNo",
            "item": {
                "id": "item_mcp_1",
                "type": "mcp_call",
                "server_label": "docs",
                "name": "search",
                "arguments": '{"q":"realtime"}',
                "approval_request_id": None,
                "output": None,
                "error": {"type": "http_error", "code": 502, "message": "Bad gateway"},
            },
        },
    ],
    "conversation.item.retrieved": [
        {
            "type": "conversation.item.retrieved",
            "event_id": "event_C9CiYx0JjJ6i0P8e2Wb4N",
            "item": {
                "id": "item_C9CiUu0JMfFb2tDgTvEVz",
                "object": "realtime.item",
                "type": "message",
                "status": "completed",
                "role": "user",
                "content": [
                    {
                        "type": "input_audio",
                        "audio": AUDIO_20MS,
                        "transcript": "What is the weather in Paris today?",
                    }
                ],
            },
        }
    ],
    "conversation.item.truncated": [
        {
            "type": "conversation.item.truncated",
            "event_id": "event_C9CiZqAl2YIbVQu2zM3Yd",
            "item_id": "item_C9CiWqv2nS1kG3VVmXJvf",
            "content_index": 0,
            "audio_end_ms": 1500,
        }
    ],
    "conversation.item.deleted": [
        {
            "type": "conversation.item.deleted",
            "event_id": "event_C9CiZrN0k9DX1uJmS4kbQ",
            "item_id": "item_C9CiWqv2nS1kG3VVmXJvf",
        }
    ],
    "conversation.item.input_audio_transcription.completed": [
        {
            "type": "conversation.item.input_audio_transcription.completed",
            "event_id": "event_C9CiVbKBcB5iWCTu0aqJP",
            "item_id": "item_C9CiUu0JMfFb2tDgTvEVz",
            "content_index": 0,
            "transcript": "What is the weather in Paris today?",
            "usage": {
                "type": "tokens",
                "total_tokens": 26,
                "input_tokens": 17,
                "input_token_details": {"text_tokens": 0, "audio_tokens": 17},
                "output_tokens": 9,
            },
            "logprobs": [{"token": "What", "logprob": -0.0012, "bytes": [87, 104, 97, 116]}],
        },
        {
            "type": "conversation.item.input_audio_transcription.completed",
            "event_id": "event_C9CiVbKBcB5iWCTu0aqJQ",
            "item_id": "item_C9CiUu0JMfFb2tDgTvEVz",
            "content_index": 0,
            "transcript": "Bonjour.",
            "usage": {"type": "duration", "seconds": 1.92},
            "languages": [{"code": "fr"}],
            "logprobs": None,
        },
    ],
    "conversation.item.input_audio_transcription.delta": [
        {
            "type": "conversation.item.input_audio_transcription.delta",
            "event_id": "event_C9CiVZbhqYbRsQmaP9uIs",
            "item_id": "item_C9CiUu0JMfFb2tDgTvEVz",
            "content_index": 0,
            "delta": "What is the",
            "logprobs": None,
        }
    ],
    "conversation.item.input_audio_transcription.failed": [
        {
            "type": "conversation.item.input_audio_transcription.failed",
            "event_id": "event_C9CiVhXbbp3c9cKVfM1yu",
            "item_id": "item_C9CiUu0JMfFb2tDgTvEVz",
            "content_index": 0,
            "error": {
                "type": "transcription_error",
                "code": "audio_unintelligible",
                "message": "The audio could not be transcribed.",
                "param": None,
            },
        }
    ],
    "conversation.item.input_audio_transcription.segment": [
        {
            "type": "conversation.item.input_audio_transcription.segment",
            "event_id": "event_C9CiVjPpYxhyAuZvEFuLe",
            "item_id": "item_C9CiUu0JMfFb2tDgTvEVz",
            "content_index": 0,
            "text": "What is the weather",
            "id": "seg_0001",
            "speaker": "A",
            "start": 0.5,
            "end": 1.72,
        }
    ],
    "input_audio_buffer.committed": [
        {
            "type": "input_audio_buffer.committed",
            "event_id": "event_C9CiVDA1DSkyYsqmJ0aMh",
            "previous_item_id": None,
            "item_id": "item_C9CiUu0JMfFb2tDgTvEVz",
        }
    ],
    "input_audio_buffer.cleared": [
        {"type": "input_audio_buffer.cleared", "event_id": "event_C9CiVDA1DSkyYsqmJ0aMi"}
    ],
    "input_audio_buffer.speech_started": [
        {
            "type": "input_audio_buffer.speech_started",
            "event_id": "event_C9CiUpAyXpBdl7hF1cOiP",
            "audio_start_ms": 500,
            "item_id": "item_C9CiUu0JMfFb2tDgTvEVz",
        }
    ],
    "input_audio_buffer.speech_stopped": [
        {
            "type": "input_audio_buffer.speech_stopped",
            "event_id": "event_C9CiVD7lUj5C7dkXfkNsb",
            "audio_end_ms": 2160,
            "item_id": "item_C9CiUu0JMfFb2tDgTvEVz",
        }
    ],
    "input_audio_buffer.timeout_triggered": [
        {
            "type": "input_audio_buffer.timeout_triggered",
            "event_id": "event_C9CiVTcYjz1Ff4yIDCbC7",
            "audio_start_ms": 13216,
            "audio_end_ms": 19232,
            "item_id": "item_C9CiWxj0Dw3Ui4BVqjRoB",
        }
    ],
    "input_audio_buffer.dtmf_event_received": [
        {"type": "input_audio_buffer.dtmf_event_received", "event": "7", "received_at": 1764325301}
    ],
    "output_audio_buffer.started": [
        {
            "type": "output_audio_buffer.started",
            "event_id": "event_C9CiWd5YBC6TxMvTtLRtq",
            "response_id": "resp_C9CiWl0hAidhBjLuUXxpq",
        }
    ],
    "output_audio_buffer.stopped": [
        {
            "type": "output_audio_buffer.stopped",
            "event_id": "event_C9CiXdBDu8Xu1SnIeKSnl",
            "response_id": "resp_C9CiWl0hAidhBjLuUXxpq",
        }
    ],
    "output_audio_buffer.cleared": [
        {
            "type": "output_audio_buffer.cleared",
            "event_id": "event_C9CiXdBDu8Xu1SnIeKSnm",
            "response_id": "resp_C9CiWl0hAidhBjLuUXxpq",
        }
    ],
    "rate_limits.updated": [
        {
            "type": "rate_limits.updated",
            "event_id": "event_C9CiXhvEdFm3R0wOa8D4c",
            "rate_limits": [
                {"name": "requests", "limit": 1000, "remaining": 999, "reset_seconds": 60.0},
                {"name": "tokens", "limit": 50000, "remaining": 48747, "reset_seconds": 1.504},
            ],
        }
    ],
    "response.created": [
        {
            "type": "response.created",
            "event_id": "event_C9CiWl1fW5U0YHpIfYwKl",
            "response": RESPONSE_CREATED,
        }
    ],
    "response.done": [
        {
            "type": "response.done",
            "event_id": "event_C9CiXVAmXU8ZcVqS2kSXr",
            "response": RESPONSE_DONE,
        },
        {
            "type": "response.done",
            "event_id": "event_C9CiZqKHzG4iOVoTJUwdR",
            "response": RESPONSE_CANCELLED,
        },
        {
            "type": "response.done",
            "event_id": "event_C9CiZqKHzG4iOVoTJUwdS",
            "response": {
                **RESPONSE_CREATED,
                "status": "completed",
                "output": [FUNCTION_CALL_ITEM],
                "usage": USAGE,
            },
        },
        {
            "type": "response.done",
            "event_id": "event_C9CiZqKHzG4iOVoTJUwdT",
            "response": {
                **RESPONSE_CREATED,
                "status": "failed",
                "status_details": {
                    "type": "failed",
                    "error": {"type": "server_error", "code": "internal", "message": "Try again."},
                },
                "usage": None,
            },
        },
    ],
    "response.output_item.added": [
        {
            "type": "response.output_item.added",
            "event_id": "event_C9CiWrjIvHNiC5PqdSO2U",
            "response_id": "resp_C9CiWl0hAidhBjLuUXxpq",
            "output_index": 0,
            "item": ASSISTANT_ITEM_IN_PROGRESS,
        }
    ],
    "response.output_item.done": [
        {
            "type": "response.output_item.done",
            "event_id": "event_C9CiXwSAFNJb3J9cU8KgF",
            "response_id": "resp_C9CiWl0hAidhBjLuUXxpq",
            "output_index": 0,
            "item": ASSISTANT_ITEM_DONE,
        },
        {
            "type": "response.output_item.done",
            "event_id": "event_C9CiXwSAFNJb3J9cU8KgG",
            "response_id": "resp_C9CiWl0hAidhBjLuUXxpq",
            "output_index": 1,
            "item": FUNCTION_CALL_ITEM,
        },
    ],
    "response.content_part.added": [
        {
            "type": "response.content_part.added",
            "event_id": "event_C9CiWpM8n9HRNBDnJbHAq",
            **_IDS,
            "part": {"type": "audio", "transcript": ""},
        }
    ],
    "response.content_part.done": [
        {
            "type": "response.content_part.done",
            "event_id": "event_C9CiXkC0wJUtijl2fEyFf",
            **_IDS,
            "part": {"type": "audio", "transcript": "It is sunny in Paris today."},
        },
        {
            "type": "response.content_part.done",
            "event_id": "event_C9CiXkC0wJUtijl2fEyFg",
            **_IDS,
            "part": {"type": "text", "text": "It is sunny."},
        },
    ],
    "response.output_text.delta": [
        {
            "type": "response.output_text.delta",
            "event_id": "event_C9CiWu2gQnJ1c1ZQ",
            **_IDS,
            "delta": "It is ",
        }
    ],
    "response.output_text.done": [
        {
            "type": "response.output_text.done",
            "event_id": "event_C9CiWu2gQnJ1c1ZR",
            **_IDS,
            "text": "It is sunny in Paris today.",
        }
    ],
    "response.output_audio.delta": [
        {
            "type": "response.output_audio.delta",
            "event_id": "event_C9CiWtS4yEJgeeqc",
            **_IDS,
            "delta": AUDIO_100MS,
        }
    ],
    "response.output_audio.done": [
        {"type": "response.output_audio.done", "event_id": "event_C9CiXjpVnzz5ZOEP", **_IDS}
    ],
    "response.output_audio_transcript.delta": [
        {
            "type": "response.output_audio_transcript.delta",
            "event_id": "event_C9CiWsDYC6S8ftfA",
            **_IDS,
            "delta": "It is sunny",
        }
    ],
    "response.output_audio_transcript.done": [
        {
            "type": "response.output_audio_transcript.done",
            "event_id": "event_C9CiXkOQ3cm1OH27",
            **_IDS,
            "transcript": "It is sunny in Paris today.",
        }
    ],
    "response.function_call_arguments.delta": [
        {
            "type": "response.function_call_arguments.delta",
            "event_id": "event_C9CiXCkNnYUchLmhIeomS",
            "response_id": "resp_C9CiWl0hAidhBjLuUXxpq",
            "item_id": "item_C9CiXBS9hZo3AmSw3YbrF",
            "output_index": 1,
            "call_id": "call_Ts9ZCUdnYsVPxUnw",
            "delta": '{"city":',
        }
    ],
    "response.function_call_arguments.done": [
        {
            "type": "response.function_call_arguments.done",
            "event_id": "event_C9CiXJ8rBHeqG10ItiMSS",
            "response_id": "resp_C9CiWl0hAidhBjLuUXxpq",
            "item_id": "item_C9CiXBS9hZo3AmSw3YbrF",
            "output_index": 1,
            "call_id": "call_Ts9ZCUdnYsVPxUnw",
            "name": "get_weather",
            "arguments": '{"city":"Paris"}',
        }
    ],
    "response.mcp_call_arguments.delta": [
        {
            "type": "response.mcp_call_arguments.delta",
            "event_id": "event_C9CiYmcp0001",
            "response_id": "resp_C9CiWl0hAidhBjLuUXxpq",
            "item_id": "item_mcp_1",
            "output_index": 0,
            "delta": '{"q":',
            "obfuscation": "x7Fq",
        }
    ],
    "response.mcp_call_arguments.done": [
        {
            "type": "response.mcp_call_arguments.done",
            "event_id": "event_C9CiYmcp0002",
            "response_id": "resp_C9CiWl0hAidhBjLuUXxpq",
            "item_id": "item_mcp_1",
            "output_index": 0,
            "arguments": '{"q":"realtime"}',
        }
    ],
    "response.mcp_call.in_progress": [
        {
            "type": "response.mcp_call.in_progress",
            "event_id": "event_mcp_3",
            "item_id": "item_mcp_1",
            "output_index": 0,
        }
    ],
    "response.mcp_call.completed": [
        {
            "type": "response.mcp_call.completed",
            "event_id": "event_mcp_4",
            "item_id": "item_mcp_1",
            "output_index": 0,
        }
    ],
    "response.mcp_call.failed": [
        {
            "type": "response.mcp_call.failed",
            "event_id": "event_mcp_5",
            "item_id": "item_mcp_1",
            "output_index": 0,
        }
    ],
    "mcp_list_tools.in_progress": [
        {
            "type": "mcp_list_tools.in_progress",
            "event_id": "event_mcp_6",
            "item_id": "item_mcp_list_1",
        }
    ],
    "mcp_list_tools.completed": [
        {
            "type": "mcp_list_tools.completed",
            "event_id": "event_mcp_7",
            "item_id": "item_mcp_list_1",
        }
    ],
    "mcp_list_tools.failed": [
        {"type": "mcp_list_tools.failed", "event_id": "event_mcp_8", "item_id": "item_mcp_list_1"}
    ],
}

CLIENT_FRAMES: dict[str, list[dict[str, Any]]] = {
    "session.update": [
        {
            "type": "session.update",
            "event_id": "evt_client_1",
            "session": {
                "type": "realtime",
                "instructions": "Answer in one sentence.",
                "output_modalities": ["audio"],
                "audio": {
                    "input": {
                        "format": {"type": "audio/pcm", "rate": 24000},
                        "turn_detection": None,
                        "noise_reduction": None,
                        "transcription": {"model": "gpt-4o-mini-transcribe"},
                    },
                    "output": {"format": {"type": "audio/pcmu"}, "voice": "cedar", "speed": 1.1},
                },
                "tools": [
                    {
                        "type": "function",
                        "name": "get_weather",
                        "description": "Current weather for a city.",
                        "parameters": {
                            "type": "object",
                            "properties": {"city": {"type": "string"}},
                            "required": ["city"],
                        },
                    },
                    {
                        "type": "mcp",
                        "server_label": "docs",
                        "server_url": "https://mcp.example.com/sse",
                        "require_approval": "never",
                        "allowed_tools": ["search"],
                    },
                ],
                "tool_choice": "auto",
                "tracing": None,
                "prompt": None,
                "truncation": {"type": "retention_ratio", "retention_ratio": 0.8},
                "max_output_tokens": 4096,
            },
        },
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "audio": {
                    "input": {
                        "turn_detection": {
                            "type": "server_vad",
                            "threshold": 0.6,
                            "silence_duration_ms": 400,
                            "idle_timeout_ms": 6000,
                        }
                    }
                },
                "tracing": "auto",
                "prompt": {
                    "id": "pmpt_123",
                    "version": "2",
                    "variables": {
                        "city": "Paris",
                        "style": {
                            "type": "input_text",
                            "text": "brief",
                            "prompt_cache_breakpoint": {"mode": "explicit", "ttl": "30m"},
                        },
                        "map": {"type": "input_image", "detail": "low", "file_id": "file_1"},
                    },
                },
                "tool_choice": {"type": "mcp", "server_label": "docs", "name": "search"},
            },
        },
        {
            "type": "session.update",
            "session": {
                "type": "transcription",
                "audio": {
                    "input": {
                        "format": {"type": "audio/pcma"},
                        "transcription": {"model": "gpt-4o-transcribe", "language": "de"},
                        "turn_detection": {"type": "semantic_vad", "eagerness": "high"},
                        "noise_reduction": {"type": "far_field"},
                    }
                },
            },
        },
    ],
    "input_audio_buffer.append": [
        {"type": "input_audio_buffer.append", "event_id": "evt_client_2", "audio": AUDIO_20MS}
    ],
    "input_audio_buffer.commit": [
        {"type": "input_audio_buffer.commit", "event_id": "evt_client_3"}
    ],
    "input_audio_buffer.clear": [{"type": "input_audio_buffer.clear"}],
    "output_audio_buffer.clear": [
        {"type": "output_audio_buffer.clear", "event_id": "evt_client_4"}
    ],
    "conversation.item.create": [
        {
            "type": "conversation.item.create",
            "event_id": "evt_client_5",
            "previous_item_id": "root",
            "item": {
                "type": "message",
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "What is the weather in Paris?"},
                    {
                        "type": "input_image",
                        "image_url": "data:image/png;base64,iVBORw0KGgo=",
                        "detail": "low",
                    },
                ],
            },
        },
        {
            "type": "conversation.item.create",
            "item": {
                "type": "function_call_output",
                "call_id": "call_Ts9ZCUdnYsVPxUnw",
                "output": '{"temperature_c": 21, "sky": "sunny"}',
            },
        },
        {
            "type": "conversation.item.create",
            "item": {
                "type": "mcp_approval_response",
                "id": "mcpr_1",
                "approval_request_id": "mcpa_1",
                "approve": False,
                "reason": None,
            },
        },
        {
            "type": "conversation.item.create",
            "item": {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Earlier answer."}],
            },
        },
    ],
    "conversation.item.retrieve": [
        {
            "type": "conversation.item.retrieve",
            "event_id": "evt_client_6",
            "item_id": "item_C9CiUu0JMfFb2tDgTvEVz",
        }
    ],
    "conversation.item.truncate": [
        {
            "type": "conversation.item.truncate",
            "event_id": "evt_client_7",
            "item_id": "item_C9CiWqv2nS1kG3VVmXJvf",
            "content_index": 0,
            "audio_end_ms": 1500,
        }
    ],
    "conversation.item.delete": [
        {"type": "conversation.item.delete", "item_id": "item_C9CiWqv2nS1kG3VVmXJvf"}
    ],
    "response.create": [
        {"type": "response.create"},
        {
            "type": "response.create",
            "event_id": "evt_client_8",
            "response": {
                "conversation": "none",
                "metadata": {"topic": "summary"},
                "output_modalities": ["text"],
                "instructions": "Summarize the conversation in one line.",
                "input": [
                    {"type": "item_reference", "id": "item_C9CiUu0JMfFb2tDgTvEVz"},
                    {
                        "type": "message",
                        "role": "user",
                        "content": [{"type": "input_text", "text": "Summarize."}],
                    },
                ],
                "max_output_tokens": "inf",
                "tool_choice": "none",
                "audio": {
                    "output": {"voice": "alloy", "format": {"type": "audio/pcm", "rate": 24000}}
                },
            },
        },
    ],
    "response.cancel": [
        {"type": "response.cancel"},
        {
            "type": "response.cancel",
            "event_id": "evt_client_9",
            "response_id": "resp_C9CiWl0hAidhBjLuUXxpq",
        },
    ],
}
