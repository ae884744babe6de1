"""The chat page's own modules, above everything else in qa/ (app.py builds the page from them):

- `render`: the HTML the page shows; `style`: its theme, CSS and script
- `viewer`: a cited document shown whole, the cited span marked
- `chat`: questions in, streamed replies out, and the `/ask` API
- `library`: the documents panel (list, upload, remove, switch index); `uploads`: the files
- `serving`: the index a page opens, sign-ins, per-session limits, the upload cache
- `boundary`: the one place an error becomes a message for a person
"""
