"""Files through the Slack Web API, after the alert is posted: Slack's external upload flow.

For each file, ``files.getUploadURLExternal`` (form-encoded ``filename`` and ``length``) answers an
``upload_url`` and a ``file_id``; the bytes are POSTed to that URL as the raw body; one
``files.completeUploadExternal`` (JSON ``files: [{id, title}]``, ``channel_id``, and ``thread_ts`` = the alert's
``ts`` when ``files_in_thread``) shares them all. Sources: docs.slack.dev "Uploading files",
files.getUploadURLExternal and files.completeUploadExternal.

The alert is already delivered when this runs, so a failure here is never retried (that would post the alert
again) and never fails the target: each file not shared becomes a receipt warning with Slack's reason.
"""

from __future__ import annotations

from typing import Any

from tocsin import Delivered, DeliveryError, Response, Secret

from .answers import api_reason, check_api_answer

__all__ = ["method_url", "upload_files"]


def method_url(api_url: str, method: str) -> str:
    """The URL of another Web API method next to ``api_url`` (``…/api/chat.postMessage``)."""
    return f"{api_url.rsplit('/', 1)[0]}/{method}"


async def upload_files(posted: Response, refs: list[Any], options: Any, transport: Any) -> Delivered:
    """Share ``refs`` in the alert's channel (or thread); ``posted`` is chat.postMessage's answer."""
    auth = {"authorization": Secret("Bearer " + options.token.reveal())}
    answer = posted.json() or {}
    channel = answer.get("channel") or options.channel_id
    uploaded: list[dict[str, str]] = []
    warnings: list[str] = []
    for ref in refs:
        try:
            step = await transport.post_multipart(
                method_url(options.api_url, "files.getUploadURLExternal"),
                {"filename": ref.name, "length": str(ref.size)},
                headers=auth,
                describe_error=api_reason,
                check=check_api_answer,
            )
            target = step.json()
            if not isinstance(target.get("upload_url"), str) or not isinstance(target.get("file_id"), str):
                raise DeliveryError("files.getUploadURLExternal answered no upload_url/file_id")
            await transport.put_bytes(
                Secret(target["upload_url"]), ref.read_bytes(), method="POST", content_type=ref.content_type
            )
        except DeliveryError as exc:
            warnings.append(f"attachment {ref.name!r} not uploaded: {exc}")
            continue
        uploaded.append({"id": target["file_id"], "title": ref.name})
    if uploaded:
        share: dict[str, Any] = {"files": uploaded, "channel_id": channel}
        if options.files_in_thread and answer.get("ts"):
            share["thread_ts"] = answer["ts"]
        try:
            await transport.post_json(
                method_url(options.api_url, "files.completeUploadExternal"),
                share,
                headers={**auth, "content-type": "application/json; charset=utf-8"},
                describe_error=api_reason,
                check=check_api_answer,
            )
        except DeliveryError as exc:
            warnings.extend(f"attachment {f['title']!r} not shared: {exc}" for f in uploaded)
    return Delivered(posted.status_code, warnings)
