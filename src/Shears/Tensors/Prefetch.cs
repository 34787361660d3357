using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Shears.Tensors;

/// <summary>
/// Walks the cache lines of a strided 2-D region (rows of contiguous floats) and prefetches them into L2 a few
/// at a time, so the next operand block streams in from memory while the micro-kernel computes on this one.
/// A hint only: it never changes results, and on hardware without prefetch instructions it does nothing.
/// </summary>
internal unsafe struct PrefetchCursor
{
    private byte* _row;
    private nint _stride;
    private nint _rowBytes;
    private int _rowsLeft;
    private byte* _line;
    private byte* _lastLine;

    public PrefetchCursor(float* start, nint strideFloats, int rows, int floatsPerRow)
    {
        _row = (byte*)start;
        _stride = strideFloats * sizeof(float);
        _rowBytes = (nint)floatsPerRow * sizeof(float);
        _rowsLeft = floatsPerRow > 0 ? rows : 0;
        _line = null;
        _lastLine = null;
        if (_rowsLeft > 0) StartRow();
        Lines = _rowsLeft == 0 ? 0 : rows * (int)((_rowBytes + 127) / 64);
    }

    /// <summary>An upper bound on the lines left (for spreading the work over the kernel calls).</summary>
    public int Lines { get; }

    public bool Done => _rowsLeft == 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void StartRow()
    {
        _line = (byte*)((nint)_row & ~(nint)63);
        _lastLine = (byte*)(((nint)_row + _rowBytes - 1) & ~(nint)63);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Issue(int count)
    {
        if (!Sse.IsSupported) { _rowsLeft = 0; return; }
        while (count > 0 && _rowsLeft > 0)
        {
            Sse.Prefetch1(_line);
            count--;
            if (_line < _lastLine)
            {
                _line += 64;
            }
            else if (--_rowsLeft > 0)
            {
                _row += _stride;
                StartRow();
            }
        }
    }
}
