"""The internal HTTP app (`app.create_app`) and its routers (`companies`, `documents`)."""
