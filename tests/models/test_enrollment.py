"""Distances and check-in scenes (pure functions of models.enrollment)."""

import pytest

from models.enrollment import BadScene, distance_m, scene_for, verify_scene

SECRET = b"k" * 32


def test_same_point_is_zero_metres():
    assert distance_m(30.0, 120.0, 30.0, 120.0) == 0


def test_a_thousandth_of_a_degree_of_latitude_is_about_111_m():
    assert distance_m(30.0, 120.0, 30.001, 120.0) == pytest.approx(111.2, abs=0.5)


def test_a_degree_of_longitude_shrinks_with_latitude():
    # cos(60°) = 0.5: a degree of longitude at 60°N is half of one at the equator.
    assert distance_m(60.0, 0.0, 60.0, 1.0) == pytest.approx(distance_m(0.0, 0.0, 0.0, 1.0) / 2, rel=1e-3)


def test_antipodes_are_half_the_circumference():
    assert distance_m(0.0, 0.0, 0.0, 180.0) == pytest.approx(20_015_115, rel=1e-4)


def test_scene_fits_wechats_32_characters_for_the_largest_id():
    scene = scene_for(2**31 - 1, SECRET)

    assert len(scene) <= 32
    assert scene.startswith(f"{2**31 - 1}.")


def test_own_scene_verifies():
    verify_scene(scene_for(42, SECRET), 42, SECRET)


@pytest.mark.parametrize(
    "scene",
    [
        scene_for(43, SECRET),  # another task's code
        scene_for(42, b"other-secret"),  # signed with another key
        "42.AAAAAAAAAAAAAAAA",  # forged signature
        scene_for(42, SECRET)[:-1],  # truncated
        "42",  # no signature at all
        "",
    ],
)
def test_tampered_scene_is_rejected(scene):
    with pytest.raises(BadScene):
        verify_scene(scene, 42, SECRET)


def test_a_flipped_signature_character_is_rejected():
    scene = scene_for(42, SECRET)
    flipped = scene[:-1] + ("A" if scene[-1] != "A" else "B")

    with pytest.raises(BadScene):
        verify_scene(flipped, 42, SECRET)
