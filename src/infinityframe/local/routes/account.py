"""The account (extension): its name, the service's id, and the sample balance from the ledger."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from ..store import Account
from .common import JSONResponse, ServiceState, authenticate, service
from .models import AccountOut

__all__ = ["router"]

router = APIRouter(tags=["account"])


@router.get("/account/", response_model=AccountOut, summary="The account's sample balance (extension)")
def account_detail(account: Account = Depends(authenticate), state: ServiceState = Depends(service)) -> Response:
    store = state.store
    totals = store.ledger_totals(account.id)
    return JSONResponse({
        "name": account.name,
        "service_id": state.service_id,
        "balance": store.balance(account.id),
        "granted": totals.get("grant", 0),
        "charged": -totals.get("charge", 0),
        "reserved": -(totals.get("reserve", 0) + totals.get("release", 0)),
    })
