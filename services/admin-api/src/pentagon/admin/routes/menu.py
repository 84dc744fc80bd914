"""The cafe's menu as the bot knows it, what staff mark sold out and the prices they change:
everyone reads, admins change.

The items come from the agent (gRPC ``ListMenu``, its knowledge files); the marks are admin-api's
bucket ``menu_sold_out``, which every agent replica follows, so a customer asking for a sold-out
dish is told so within moments; a price changed here (bucket ``menu_prices``) is quoted within
moments too. Like every admin action the change is recorded by tracking in the audit log
(`menu_sold_out`, `menu_on_sale`, `menu_price`, `menu_price_reset`): 503 if tracking cannot
answer, the change stays made and a retry with the same Idempotency-Key records it once.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from pentagon.admin.auth import Identity, current_identity, require_admin
from pentagon.admin.commands import delete_recorded, record_bucket_change
from pentagon.admin.deps import idempotency_key, runtime
from pentagon.admin.errors import ApiError, available, invalid, not_found
from pentagon.admin.menu_prices import MenuPrices
from pentagon.admin.models import (
    ACTION_ERRORS, READ_ERRORS, Deleted, MenuItemResult, MenuList, PriceBody, SoldOutBody, ok,
)
from pentagon.admin.queries import utc_now
from pentagon.admin.runtime import Runtime
from pentagon.admin.sold_out import MENU_ID_PATTERN, SoldOutItems
from pentagon.common.agent_client import AgentUnavailable
from pentagon.common.proto import agent_pb2

router = APIRouter(prefix="/admin/menu", tags=["menu"])
MenuId = Annotated[str, Path(pattern=MENU_ID_PATTERN, description="the Menu.json id of the item")]
# "Until" is a day or a few: a mark meant for longer is "until put back" (until omitted).
MAX_AHEAD = timedelta(days=31)


def _store(rt: Runtime) -> SoldOutItems:
    return available(rt.sold_out)


async def _menu(rt: Runtime) -> list[agent_pb2.MenuEntry]:
    try:
        return list((await rt.agent.list_menu()).items)
    except AgentUnavailable as exc:
        raise ApiError(503, "agent_unavailable", f"the bot's menu is not reachable ({exc}); is the agent running?") \
            from None


def _prices(rt: Runtime) -> MenuPrices:
    return available(rt.prices)


def _item(entry: agent_pb2.MenuEntry, mark: dict[str, Any] | None, price: dict[str, Any] | None) -> dict[str, Any]:
    return {"id": entry.id, "category": entry.category, "name_en": entry.name_en, "name_mm": entry.name_mm,
            "price": price["price"] if price else entry.price, "file_price": entry.price,
            "price_by": price and price.get("by"), "currency": entry.currency, "sold_out": mark is not None,
            "sold_out_until": mark and mark.get("until"), "sold_out_by": mark and mark.get("by")}


@router.get("", response_model=MenuList, responses=READ_ERRORS)
async def list_menu(_: Identity = Depends(current_identity), rt: Runtime = Depends(runtime)) -> Any:
    entries, marks, prices = await asyncio.gather(_menu(rt), _store(rt).current(), _prices(rt).current())
    items = [_item(e, marks.get(e.id), prices.get(e.id)) for e in entries]
    return ok(items=items, count=len(items))


async def _entry(rt: Runtime, menu_id: str) -> agent_pb2.MenuEntry:
    entry = next((e for e in await _menu(rt) if e.id == menu_id), None)
    if entry is None:
        raise not_found("menu item")
    return entry


@router.put("/{menu_id}/sold-out", response_model=MenuItemResult, responses=ACTION_ERRORS)
async def mark_sold_out(menu_id: MenuId, body: SoldOutBody, identity: Identity = Depends(require_admin),
                        key: str | None = Depends(idempotency_key), rt: Runtime = Depends(runtime)) -> Any:
    until = body.until
    if until is not None and not utc_now() < until <= utc_now() + MAX_AHEAD:
        raise invalid("until must be ahead, at most 31 days (omit it: sold out until put back)")
    entry = await _entry(rt, menu_id)
    row = await _store(rt).mark(menu_id, until, identity.actor)
    await record_bucket_change(rt.commands, "menu_sold_out", menu_id, identity.actor, key,
                               {"until": row["until"], "name": entry.name_en})
    return ok(item=_item(entry, row, (await _prices(rt).current()).get(menu_id)))


@router.delete("/{menu_id}/sold-out", response_model=Deleted, responses=ACTION_ERRORS)
async def back_on_sale(menu_id: MenuId, identity: Identity = Depends(require_admin),
                       key: str | None = Depends(idempotency_key), rt: Runtime = Depends(runtime)) -> Any:
    await delete_recorded(rt.commands, _store(rt), menu_id, what="sold-out mark", action="menu_on_sale",
                          actor=identity.actor, idempotency_key=key)
    return ok(deleted=True)


@router.put("/{menu_id}/price", response_model=MenuItemResult, responses=ACTION_ERRORS)
async def set_price(menu_id: MenuId, body: PriceBody, identity: Identity = Depends(require_admin),
                    key: str | None = Depends(idempotency_key), rt: Runtime = Depends(runtime)) -> Any:
    entry = await _entry(rt, menu_id)
    row = await _prices(rt).set_price(menu_id, body.price, identity.actor)
    await record_bucket_change(rt.commands, "menu_price", menu_id, identity.actor, key,
                               {"price": body.price, "file_price": entry.price, "name": entry.name_en})
    return ok(item=_item(entry, (await _store(rt).current()).get(menu_id), row))


@router.delete("/{menu_id}/price", response_model=Deleted, responses=ACTION_ERRORS)
async def reset_price(menu_id: MenuId, identity: Identity = Depends(require_admin),
                      key: str | None = Depends(idempotency_key), rt: Runtime = Depends(runtime)) -> Any:
    await delete_recorded(rt.commands, _prices(rt), menu_id, what="changed price", action="menu_price_reset",
                          actor=identity.actor, idempotency_key=key)
    return ok(deleted=True)
