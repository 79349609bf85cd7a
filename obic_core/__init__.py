"""OBIC core: object-based learned image coding without any Qt.

Public API (what the CLI, the GUI, the benchmarks and the tests call)::

    from obic_core import codec
    data = codec.encode(image, mask, codec.EncodeSettings(object_quality=.8, background_quality=.2))
    decoded = codec.decode(data, layers=("object",))
    layout = codec.inspect(data)

Heavy modules (torch) are imported lazily by those functions' modules, not here, so
``import obic_core`` stays cheap for the GUI's start-up.
"""

__version__ = "0.1.0"
