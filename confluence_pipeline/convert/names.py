"""Qualified names of the storage-format tags and attributes the converter reads, computed once.

lxml reports ``ac:link`` as ``{http://www.atlassian.com/schema/confluence/4/ac/}link``; comparing against these
constants keeps the per-element work to one string comparison.
"""

from __future__ import annotations

from confluence_pipeline.convert.xml import RI_NS, ac, ri

RI_PREFIX = "{" + RI_NS + "}"
RI_ATTACHMENT = ri("attachment")
RI_PAGE = ri("page")
RI_BLOG_POST = ri("blog-post")
RI_URL = ri("url")
RI_USER = ri("user")
RI_FILENAME = ri("filename")
RI_VALUE = ri("value")
RI_CONTENT_TITLE = ri("content-title")
RI_SPACE_KEY = ri("space-key")
RI_POSTING_DAY = ri("posting-day")
RI_CONTENT_ID = ri("content-id")
RI_ACCOUNT_ID = ri("account-id")
RI_USERKEY = ri("userkey")
RI_USERNAME = ri("username")
AC_ALT = ac("alt")
AC_ANCHOR = ac("anchor")
AC_CAPTION = ac("caption")
AC_EMOJI_ID = ac("emoji-id")
AC_EMOJI_FALLBACK = ac("emoji-fallback")
AC_EMOJI_SHORTNAME = ac("emoji-shortname")
AC_TASK = ac("task")
AC_TASK_STATUS = ac("task-status")
AC_TASK_BODY = ac("task-body")
AC_LINK_BODY = ac("link-body")
AC_PLAIN_LINK_BODY = ac("plain-text-link-body")
AC_PARAMETER = ac("parameter")
AC_DEFAULT_PARAMETER = ac("default-parameter")
AC_RICH_BODY = ac("rich-text-body")
AC_PLAIN_BODY = ac("plain-text-body")
AC_ADF_NODE = ac("adf-node")
AC_ADF_FALLBACK = ac("adf-fallback")
AC_ADF_ATTRIBUTE = ac("adf-attribute")
AC_ADF_CONTENT = ac("adf-content")
AC_NAME = ac("name")
RI_CONTENT_ENTITY = ri("content-entity")
