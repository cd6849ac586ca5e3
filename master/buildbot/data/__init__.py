"""The data API: resource types, their endpoints and update methods (``master.data``)."""
