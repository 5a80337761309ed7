"""A ticket's conversation: `POST /tickets/{id}/messages` adds a message to it.

A customer's message is answered: the worker drafts the next turn (or re-drafts the waiting
draft so it answers both). The same message id twice is one message.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel

from agent.conversation import Message
from app.api.deps import Authorized, DeskDep

router = APIRouter(prefix="/tickets", tags=["conversations"], dependencies=[Authorized])


class MessageAccepted(BaseModel):
    """The answer to a message: stored now (or seen before), answered in the background."""

    ticket_id: str
    id: str
    status: Literal["accepted"] = "accepted"
    duplicate: bool = False


@router.post("/{ticket_id}/messages", status_code=status.HTTP_202_ACCEPTED,
             responses={404: {"description": "no ticket with this id"}})
def create_message(ticket_id: str, message: Message, desk: DeskDep) -> MessageAccepted:
    """Add a message to the ticket's conversation (202); 404 for an unknown ticket."""
    from app.service import UnknownTicket

    try:
        created = desk.add_message(ticket_id, message)
    except UnknownTicket:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no ticket with id {ticket_id!r}") \
            from None
    return MessageAccepted(ticket_id=ticket_id, id=message.id, duplicate=not created)
