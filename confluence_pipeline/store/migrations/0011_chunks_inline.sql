-- A chunk row stays whole in its heap page, uncompressed, up to the page's size (8,160 bytes) instead of the default
-- 2 KB. A real-size chunk (about 840 bytes of text and a 1.6 KB tsvector) passes 2 KB often: PostgreSQL then
-- compressed its text (pglz, half of all chunk rows) and, when that was not enough, moved its tsvector to the TOAST
-- table. Writing them cost CPU (with the load table's rows kept whole too, see stage_chunks, the chunk COPY and INSERT
-- of a full sync took 1.27 s against 1.57-1.96 s per 1,000 pages), and every search that reads the row paid it back:
-- a decompression for the snippet, a TOAST fetch per full-text candidate. Only new and updated rows take the new form.
ALTER TABLE chunks SET (toast_tuple_target = 8160);
