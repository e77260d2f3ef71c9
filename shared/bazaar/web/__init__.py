"""The HTTP edge shared by every route function: problem+json, caller identity, cursors, ETags, audit."""
