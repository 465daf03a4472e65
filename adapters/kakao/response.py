"""SkillResponse 2.0 wire format of Kakao i Open Builder, as msgspec Structs with Kakao's field names.

Decoding accepts the current field names and those of the older response-format page (seed 003):
textCard `text`, the `dicountedPrice` typo, quick-reply action `Message`. Encoding emits only the
current names. Optional fields default to None/empty and are omitted from the JSON (`omit_defaults`).

What the Structs require is only what a JSON document cannot be decoded without (a button's label, a
commerceCard's price...). Everything else Kakao requires (a basicCard's thumbnail, a listCard's header,
1-3 outputs...) is checked by `adapters.kakao.limits.validate`, so a hand-built Struct can be checked too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import msgspec

from core.jsondepth import MAX_DEPTH, too_deep

_T = TypeVar("_T")

VERSION = "2.0"  # the only version Kakao accepts; without it the response is read as the old v1 format


class ResponseDecodeError(ValueError):
    """A response body that is not SkillResponse JSON (malformed, wrong types, missing fields)."""


class _Wire(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Base of every wire Struct: keyword construction, optional fields left out of the JSON."""


# --- common objects ------------------------------------------------------------------------------


class Link(_Wire, kw_only=True):
    pc: str | None = None
    mobile: str | None = None
    web: str | None = None  # wins over pc and mobile


class Thumbnail(_Wire, kw_only=True):
    imageUrl: str
    altText: str | None = None
    link: Link | None = None
    fixedRatio: bool | None = None  # true: 1:1 area, buttons horizontal (max 2)
    width: int | None = None  # itemCard thumbnails
    height: int | None = None


class Profile(_Wire, kw_only=True):
    """Profile of a basicCard/commerceCard."""

    nickname: str | None = None
    imageUrl: str | None = None


class Button(_Wire, kw_only=True):
    label: str
    action: str  # webLink | message | phone | block | share | operator
    webLinkUrl: str | None = None
    messageText: str | None = None
    phoneNumber: str | None = None
    blockId: str | None = None
    extra: dict[str, Any] | None = None  # comes back as action.clientExtra of the next skill call


class QuickReply(_Wire, kw_only=True):
    label: str
    action: str  # message | block
    messageText: str | None = None
    blockId: str | None = None
    extra: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        # The docs write 'Message'; Kakao's values are lower-case.
        self.action = self.action.lower()


class ListItem(_Wire, kw_only=True):
    title: str
    description: str | None = None
    imageUrl: str | None = None
    link: Link | None = None
    action: str | None = None  # block | message
    blockId: str | None = None
    messageText: str | None = None
    extra: dict[str, Any] | None = None


# --- components ----------------------------------------------------------------------------------


class SimpleText(_Wire, kw_only=True):
    KEY: ClassVar[str] = "simpleText"
    text: str


class SimpleImage(_Wire, kw_only=True):
    KEY: ClassVar[str] = "simpleImage"
    imageUrl: str
    altText: str | None = None


class TextCard(_Wire, kw_only=True):
    KEY: ClassVar[str] = "textCard"
    title: str | None = None
    description: str | None = None
    buttons: list[Button] = []
    buttonLayout: str | None = None  # vertical | horizontal
    forwardable: bool | None = None
    text: str | None = None  # seed 003's single field; moved to `description` on decode, never emitted

    def __post_init__(self) -> None:
        if self.text is not None:
            if self.description is None:
                self.description = self.text
            self.text = None


class BasicCard(_Wire, kw_only=True):
    KEY: ClassVar[str] = "basicCard"
    title: str | None = None
    description: str | None = None
    thumbnail: Thumbnail | None = None  # required by Kakao; checked by validate()
    profile: Profile | None = None
    social: dict[str, Any] | None = None  # documented as unsupported; kept so decoding loses nothing
    buttons: list[Button] = []
    buttonLayout: str | None = None
    forwardable: bool | None = None


class CommerceCard(_Wire, kw_only=True):
    KEY: ClassVar[str] = "commerceCard"
    title: str | None = None
    description: str | None = None
    price: int
    currency: str | None = None  # only "won"
    discount: int | None = None
    discountRate: int | None = None
    discountedPrice: int | None = None
    thumbnails: list[Thumbnail] = []  # exactly one; checked by validate()
    profile: Profile | None = None
    buttons: list[Button] = []
    buttonLayout: str | None = None
    forwardable: bool | None = None
    dicountedPrice: int | None = None  # the field table's typo; moved to discountedPrice, never emitted

    def __post_init__(self) -> None:
        if self.dicountedPrice is not None:
            if self.discountedPrice is None:
                self.discountedPrice = self.dicountedPrice
            self.dicountedPrice = None


class ListCard(_Wire, kw_only=True):
    KEY: ClassVar[str] = "listCard"
    header: ListItem | None = None  # required by Kakao; checked by validate()
    items: list[ListItem] = []
    buttons: list[Button] = []
    buttonLayout: str | None = None
    forwardable: bool | None = None


class ItemHead(_Wire, kw_only=True):
    title: str


class ItemProfile(_Wire, kw_only=True):
    title: str
    imageUrl: str | None = None
    width: int | None = None
    height: int | None = None


class ItemImageTitle(_Wire, kw_only=True):
    title: str
    description: str | None = None
    imageUrl: str | None = None


class ItemListEntry(_Wire, kw_only=True):
    title: str
    description: str


class ItemListSummary(_Wire, kw_only=True):
    title: str
    description: str


class ItemCard(_Wire, kw_only=True):
    KEY: ClassVar[str] = "itemCard"
    thumbnail: Thumbnail | None = None
    head: ItemHead | None = None
    profile: ItemProfile | None = None
    imageTitle: ItemImageTitle | None = None
    itemList: list[ItemListEntry] = []  # required by Kakao; checked by validate()
    itemListAlignment: str | None = None  # left | right
    itemListSummary: ItemListSummary | None = None
    title: str | None = None
    description: str | None = None
    buttons: list[Button] = []
    buttonLayout: str | None = None
    forwardable: bool | None = None


class CarouselHeader(_Wire, kw_only=True):
    title: str
    description: str
    thumbnail: Thumbnail


CarouselCard = TextCard | BasicCard | CommerceCard | ListCard | ItemCard
CAROUSEL_ITEM_TYPES: dict[str, type[CarouselCard]] = {
    cls.KEY: cls for cls in (TextCard, BasicCard, CommerceCard, ListCard, ItemCard)
}

if TYPE_CHECKING:
    _CarouselItem = CarouselCard
else:
    # msgspec cannot decode an untagged union of Structs; the JSON names the item type in `type`,
    # so items are decoded as maps and converted in Carousel.__post_init__.
    _CarouselItem = Any


class Carousel(_Wire, kw_only=True):
    KEY: ClassVar[str] = "carousel"
    type: str  # basicCard | commerceCard | listCard | itemCard | textCard
    items: list[_CarouselItem]
    header: CarouselHeader | None = None

    def __post_init__(self) -> None:
        item_type = CAROUSEL_ITEM_TYPES.get(self.type)
        if item_type is None:
            return  # validate() reports the unknown type
        converted: list[Any] = []
        for i, item in enumerate(self.items):
            if isinstance(item, dict):
                try:
                    item = msgspec.convert(item, item_type)
                except msgspec.ValidationError as exc:
                    message, _, where = str(exc).partition(" - at `$")
                    raise ValueError(f"{message} (in {self.type} items[{i}]{where.rstrip('`')})") from exc
            converted.append(item)
        self.items = converted


Component = SimpleText | SimpleImage | TextCard | BasicCard | CommerceCard | ListCard | ItemCard | Carousel


class Output(_Wire, kw_only=True):
    """One entry of template.outputs: a single-key object such as {"simpleText": {...}}.

    Exactly one field is set (validate() checks); `Output.of(component)` builds it.
    """

    simpleText: SimpleText | None = None
    simpleImage: SimpleImage | None = None
    textCard: TextCard | None = None
    basicCard: BasicCard | None = None
    commerceCard: CommerceCard | None = None
    listCard: ListCard | None = None
    itemCard: ItemCard | None = None
    carousel: Carousel | None = None

    @classmethod
    def of(cls, component: Component) -> Output:
        fields: dict[str, Any] = {component.KEY: component}
        return cls(**fields)

    def components(self) -> list[Component]:
        """The components that are set (one in a well-formed output)."""
        found = (
            self.simpleText,
            self.simpleImage,
            self.textCard,
            self.basicCard,
            self.commerceCard,
            self.listCard,
            self.itemCard,
            self.carousel,
        )
        return [c for c in found if c is not None]

    @property
    def component(self) -> Component | None:
        found = self.components()
        return found[0] if len(found) == 1 else None


# --- template, context, response -----------------------------------------------------------------


class SkillTemplate(_Wire, kw_only=True):
    outputs: list[Output] = []
    quickReplies: list[QuickReply] = []


class ContextValue(_Wire, kw_only=True):
    name: str
    lifeSpan: int  # 0 deletes the context
    ttl: int | None = None  # only in Kakao's example (seconds)
    params: dict[str, str] | None = None


class ContextControl(_Wire, kw_only=True):
    values: list[ContextValue] = []


class SkillResponse(_Wire, kw_only=True):
    version: str  # always VERSION; required so that omit_defaults can never drop it
    template: SkillTemplate | None = None
    context: ContextControl | None = None
    data: dict[str, Any] | None = None  # read by the block's bubble as {{#webhook.<key>}}
    useCallback: bool | None = None  # callback acknowledgement only; template is then ignored


class CallbackResponse(msgspec.Struct, kw_only=True):
    """Kakao's answer to our POST to callbackUrl. Check `status`, not only the HTTP status."""

    status: str  # SUCCESS | FAIL | ERROR
    taskId: str | None = None
    message: str | None = None
    timestamp: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == "SUCCESS"


def _decode(body: bytes | str, type_: type[_T], what: str) -> _T:
    if too_deep(body):
        raise ResponseDecodeError(f"{what}: JSON nested more than {MAX_DEPTH} levels deep")
    try:
        return msgspec.json.decode(body, type=type_)
    except msgspec.ValidationError as exc:  # a subclass of DecodeError: catch it first
        raise ResponseDecodeError(f"{what}: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise ResponseDecodeError(f"{what}: malformed JSON ({exc})") from exc


def decode_response(body: bytes | str) -> SkillResponse:
    """Parse SkillResponse JSON (current or seed-003 field names); raises ResponseDecodeError."""
    return _decode(body, SkillResponse, "SkillResponse")


def encode_response(resp: SkillResponse) -> bytes:
    """SkillResponse JSON with the current field names only."""
    return msgspec.json.encode(resp)


def decode_callback_response(body: bytes | str) -> CallbackResponse:
    """Parse Kakao's reply to a callback POST; raises ResponseDecodeError."""
    return _decode(body, CallbackResponse, "CallbackResponse")
