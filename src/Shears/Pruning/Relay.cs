namespace Shears.Pruning;

/// <summary>Forwards progress synchronously, on the reporting thread (Progress&lt;T&gt; would post to a context and reorder).</summary>
internal sealed class Relay<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
