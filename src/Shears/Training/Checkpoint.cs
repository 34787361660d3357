using System.Text;
using Shears.Nn;

namespace Shears.Training;

/// <summary>
/// The state a run needs to continue: parameters with masks, optimizer state and step count, epochs done and
/// their history, and a fingerprint of the run so a checkpoint is never resumed into a different one.
/// Binary, little-endian, written atomically after each epoch.
/// </summary>
public static class Checkpoint
{
    private const string Magic = "SHEARSCK";
    private const int Version = 1;

    public static string PathIn(string directory) => System.IO.Path.Combine(directory, "checkpoint.bin");

    public sealed record Saved(int CompletedEpochs, IReadOnlyList<EpochRecord> History);

    public static void Save(string path, Sequential model, Optimizer optimizer, int completedEpochs, IReadOnlyList<EpochRecord> history, string fingerprint)
    {
        AtomicFile.Write(path, stream =>
        {
            using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
            w.Write(Encoding.ASCII.GetBytes(Magic));
            w.Write(Version);
            w.Write(fingerprint);
            w.Write(completedEpochs);
            w.Write(optimizer.StepCount);
            w.Write(history.Count);
            foreach (var h in history)
            {
                w.Write(h.Epoch); w.Write(h.TrainLoss); w.Write(h.ValidationAccuracy ?? double.NaN); w.Write(h.Seconds); w.Write(h.ImagesPerSecond);
            }
            w.Write(model.Parameters.Count);
            for (int i = 0; i < model.Parameters.Count; i++)
            {
                var p = model.Parameters[i];
                w.Write(p.Name);
                WriteFloats(w, p.Value.ReadOnlySpan);
                w.Write(p.Mask is not null);
                if (p.Mask is not null) WriteFloats(w, p.Mask.ReadOnlySpan);
                w.Write(optimizer.State[i].Length);
                foreach (var buffer in optimizer.State[i]) WriteFloats(w, buffer);
            }
        });
    }

    public static Saved Load(string path, Sequential model, Optimizer optimizer, string fingerprint)
    {
        try
        {
            using var stream = File.OpenRead(path);
            using var r = new BinaryReader(stream, Encoding.UTF8);
            if (Encoding.ASCII.GetString(r.ReadBytes(Magic.Length)) != Magic) throw new CheckpointException("not a Shears checkpoint (bad magic)", path);
            int version = r.ReadInt32();
            if (version != Version) throw new CheckpointException($"checkpoint version {version}, this Shears reads {Version}", path);
            string saved = r.ReadString();
            if (saved != fingerprint)
                throw new CheckpointException($"the checkpoint belongs to another run (model, data or options differ).\n  checkpoint: {saved}\n  this run:   {fingerprint}\nDelete it or use another --checkpoint-dir to start afresh.", path);
            int completed = r.ReadInt32();
            long steps = r.ReadInt64();
            int historyCount = r.ReadInt32();
            var history = new List<EpochRecord>();
            for (int i = 0; i < historyCount; i++)
            {
                int epoch = r.ReadInt32(); double loss = r.ReadDouble(); double acc = r.ReadDouble(); double sec = r.ReadDouble(); double ips = r.ReadDouble();
                history.Add(new EpochRecord(epoch, loss, double.IsNaN(acc) ? null : acc, sec, ips));
            }
            int count = r.ReadInt32();
            if (count != model.Parameters.Count) throw new CheckpointException($"holds {count} parameters, the model has {model.Parameters.Count}", path);
            // Everything is read and checked before anything is written, so a corrupt file leaves the model as it was.
            var values = new float[count][];
            var masks = new float[count][];
            var states = new float[count][][];
            for (int i = 0; i < count; i++)
            {
                var p = model.Parameters[i];
                string name = r.ReadString();
                if (name != p.Name) throw new CheckpointException($"parameter {i} is '{name}', the model expects '{p.Name}'", path);
                values[i] = new float[p.Count];
                ReadFloats(r, values[i], path, name);
                if (r.ReadBoolean())
                {
                    masks[i] = new float[p.Count];
                    ReadFloats(r, masks[i], path, name + " mask");
                    foreach (float m in masks[i])
                        if (m != 0f && m != 1f) throw new CheckpointException($"the mask of '{name}' holds {m}; masks hold 0 and 1", path);
                }
                int buffers = r.ReadInt32();
                if (buffers != optimizer.State[i].Length) throw new CheckpointException($"optimizer state for '{name}' has {buffers} buffers, expected {optimizer.State[i].Length}", path);
                states[i] = new float[buffers][];
                for (int b = 0; b < buffers; b++)
                {
                    states[i][b] = new float[optimizer.State[i][b].Length];
                    ReadFloats(r, states[i][b], path, name + " state");
                }
            }
            for (int i = 0; i < count; i++)
            {
                var p = model.Parameters[i];
                values[i].CopyTo(p.Value.Span);
                p.SetMask(masks[i] is { } m ? new Tensor(m, p.Value.Shape.ToArray()) : null);
                for (int b = 0; b < states[i].Length; b++) states[i][b].CopyTo(optimizer.State[i][b], 0);
            }
            optimizer.StepCount = steps;
            return new Saved(completed, history);
        }
        catch (EndOfStreamException e)
        {
            throw new CheckpointException("the file is truncated", path, e);
        }
    }

    private static void WriteFloats(BinaryWriter w, ReadOnlySpan<float> values)
    {
        w.Write(values.Length);
        w.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values));
    }

    private static void ReadFloats(BinaryReader r, Span<float> destination, string path, string what)
    {
        int n = r.ReadInt32();
        if (n != destination.Length) throw new CheckpointException($"'{what}' holds {n} values, expected {destination.Length}", path);
        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(destination);
        if (r.Read(bytes) != bytes.Length) throw new EndOfStreamException();
    }
}

public sealed class CheckpointException(string message, string path, Exception? inner = null) : ShearsException(message, path, inner);
