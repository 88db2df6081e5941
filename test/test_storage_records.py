"""Every record dtype has the promised itemsize and field offsets (docs/format.md)."""
import numpy as np
import pytest

from braingo_core.storage import format as fmt
from braingo_core.storage import records as rec

OFFSETS = {
    "NeuronAttr": dict(id=0, first_comp_id=8, neuron_type=16, region_id=20, n_compartment=24, cm_pF=28,
                       g_leak_nS=32, e_leak_mV=36, x_um=40, y_um=44, z_um=48, flags=52),
    "CompartmentAttr": dict(neuron_id=0, parent=4, kind=8, length_um=12, diam_um=16, ra_ohm_cm=20,
                            cm_uF_cm2=24, g_pas_S_cm2=28, e_pas_mV=32, gbar_S_cm2=36),
    "SynapseAttr": dict(post_neuron=0, base_weight=4, delay_ticks=8, syn_type=10, syn_mode=11,
                        receptor_type=12, plastic=13, count=14, pre_neuron=16, pre_comp=20, post_comp=24,
                        w_max=28),
    "GapJunction": dict(pre=0, post=4, weight_nS=8, pre_comp=12, post_comp=16, flags=20),
    "NeuronType": dict(model=0, n_params=4, params=8),
    "ReceptorType": dict(kind=0, e_rev_mV=4, tau_rise_ms=8, tau_decay_ms=12, g_max_nS=16, v_th_mV=20,
                         delta_mV=24, k_per_ms=28),
}


@pytest.mark.parametrize("name,size", sorted(rec.ITEMSIZES.items()))
def test_itemsize(name, size):
    assert getattr(rec, name).itemsize == size


@pytest.mark.parametrize("name", sorted(OFFSETS))
def test_offsets(name):
    dt = getattr(rec, name)
    for field, off in OFFSETS[name].items():
        assert dt.fields[field][1] == off, (name, field)


def test_fields_fit_and_are_little_endian():
    for name in rec.ITEMSIZES:
        dt = getattr(rec, name)
        for field, (fdt, off) in dt.fields.items():
            assert off + fdt.itemsize <= dt.itemsize, (name, field)
            base = fdt.base
            assert base.byteorder in "<|=", (name, field)


def test_rows_are_64_byte_aligned_where_promised():
    for name in ("NeuronAttr", "CompartmentAttr", "NeuronType", "ReceptorType"):
        assert getattr(rec, name).itemsize % 64 == 0
    assert 64 % rec.SynapseAttr.itemsize == 0


def test_header_layout():
    assert fmt.Header.itemsize == fmt.HEADER_SIZE == 512
    assert fmt.SegmentEntry.itemsize == 32
    assert fmt.Header.fields["segments"][1] == 96
    assert fmt.Header.fields["header_crc32"][1] == fmt.HEADER_CRC_SPAN == 504
    for version in fmt.SEGMENTS_IN_VERSION:        # every header byte is a field or a reserved (zero) byte
        covered = np.zeros(fmt.HEADER_SIZE, bool)
        n = len(fmt.segments_of(version))
        for field, (fdt, off) in fmt.Header.fields.items():
            covered[off:off + (fdt.itemsize if field != "segments" else 32 * n)] = True
        for lo, hi in fmt.reserved_header_bytes(version):
            assert not covered[lo:hi].any()
            covered[lo:hi] = True
        assert covered.all()
    assert 96 + fmt.MAX_SEGMENTS * 32 <= 504
    assert len(fmt.SEGMENTS) <= fmt.MAX_SEGMENTS


def test_celegans_channel_order():
    assert len(rec.CELEGANS_CHANNELS) == rec.CompartmentAttr.fields["gbar_S_cm2"][0].shape[0] == 16
    assert np.dtype(rec.NeuronAttr).names[0] == "id"


def test_format_doc_lists_every_field():
    """docs/format.md documents every byte: each field appears with its offset and size."""
    import pathlib
    doc = (pathlib.Path(__file__).parent.parent / "docs" / "format.md").read_text()
    for name in list(rec.ITEMSIZES) + ["Header", "SegmentEntry"]:
        dt = getattr(rec, name, None) or getattr(fmt, name)
        assert f"### {name} ({dt.itemsize} B)" in doc, name
        for field, (fdt, off) in dt.fields.items():
            assert f"| {off} | {fdt.itemsize} | `{field}` |" in doc, (name, field)


def test_padding_mask_marks_exactly_the_unused_bytes():
    assert not rec.padding_mask(rec.SynapseAttr).any()
    assert np.flatnonzero(rec.padding_mask(rec.NeuronAttr)).tolist() == list(range(53, 64))
    assert np.flatnonzero(rec.padding_mask(rec.Region)).tolist() == list(range(12, 16))
