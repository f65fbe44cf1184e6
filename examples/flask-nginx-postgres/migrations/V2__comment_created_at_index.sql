-- The page and /api/comments list the newest comments first.
CREATE INDEX comment_created_at_idx ON comment (created_at DESC, id DESC);
