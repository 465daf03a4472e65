"""How a Conversation is turned into bytes, shared by every store so both keep exactly the same thing."""

from __future__ import annotations

import msgspec

from core.conversation import Conversation

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Conversation)


def encode_conversation(conversation: Conversation) -> bytes:
    return _encoder.encode(conversation)


def decode_conversation(data: bytes) -> Conversation:
    return _decoder.decode(data)
