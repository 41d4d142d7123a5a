"""URLs of the B6 peer: the usual DRF router over a people ModelViewSet at /api/v1/people."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from bench.peer_api import PersonViewSet

router = SimpleRouter(trailing_slash=False)
router.register("people", PersonViewSet, basename="person")

urlpatterns = [path("api/v1/", include(router.urls))]
