from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema


class AutoSchema(SpectacularAutoSchema):
    """Names nested serializers after their view: RegisterApi.InputSerializer -> "RegisterInput"."""

    def _get_serializer_name(self, serializer, direction, bypass_extensions=False):
        name = super()._get_serializer_name(serializer, direction, bypass_extensions)
        qualname = type(serializer).__qualname__
        if "." in qualname:
            outer, inner = qualname.rsplit(".", 2)[-2:]
            name = outer.removesuffix("Api") + inner.removesuffix("Serializer")
            if direction == "request" and self._is_split_direction():
                name += "Request"
        return name

    def _is_split_direction(self):
        from drf_spectacular.settings import spectacular_settings

        return spectacular_settings.COMPONENT_SPLIT_REQUEST
