using System.Buffers.Binary;

namespace VectorPipeline.VectorStore;

/// <summary>
/// pgvector's binary wire format for the <c>vector</c> type, as read by its <c>vector_recv</c> and
/// written by <c>vector_send</c> (pgvector src/vector.c): int16 dimensions, int16 unused (0), then
/// each element as a big-endian IEEE-754 float4. Used for binary COPY, since the Pgvector client
/// package that would do this does not restore here (see docs/dependencies.md).
/// </summary>
public static class VectorCodec
{
    /// <summary>Largest number of dimensions pgvector accepts for <c>vector</c>.</summary>
    public const int MaxDimensions = 16000;

    /// <summary>Size in bytes of the encoded form of a vector of <paramref name="dimensions"/> elements.</summary>
    public static int EncodedLength(int dimensions) => 4 + (4 * dimensions);

    /// <summary>Encodes <paramref name="vector"/> (1..16000 finite floats) into a new byte array.</summary>
    /// <exception cref="ArgumentException">Empty, too long, or holds NaN or infinity (pgvector rejects them).</exception>
    public static byte[] Encode(ReadOnlySpan<float> vector)
    {
        var bytes = new byte[EncodedLength(vector.Length)];
        Encode(vector, bytes);
        return bytes;
    }

    /// <summary>Encodes <paramref name="vector"/> into <paramref name="destination"/>, which must hold <see cref="EncodedLength"/> bytes.</summary>
    /// <exception cref="ArgumentException">Bad vector (see <see cref="Encode(ReadOnlySpan{float})"/>) or destination too small.</exception>
    public static void Encode(ReadOnlySpan<float> vector, Span<byte> destination)
    {
        if (vector.Length is 0 or > MaxDimensions)
        {
            throw new ArgumentException($"A vector has 1 to {MaxDimensions} dimensions; this one has {vector.Length}.", nameof(vector));
        }

        if (destination.Length < EncodedLength(vector.Length))
        {
            throw new ArgumentException($"Destination holds {destination.Length} bytes; {EncodedLength(vector.Length)} are needed.", nameof(destination));
        }

        BinaryPrimitives.WriteInt16BigEndian(destination, (short)vector.Length);
        BinaryPrimitives.WriteInt16BigEndian(destination[2..], 0);
        for (var i = 0; i < vector.Length; i++)
        {
            var value = vector[i];
            if (!float.IsFinite(value))
            {
                throw new ArgumentException($"Element {i} is {value}; pgvector stores finite values only.", nameof(vector));
            }

            BinaryPrimitives.WriteSingleBigEndian(destination[(4 + (4 * i))..], value);
        }
    }

    /// <summary>Decodes pgvector's binary form back into floats.</summary>
    /// <exception cref="FormatException">The length does not match the dimensions in the header.</exception>
    public static float[] Decode(ReadOnlySpan<byte> source)
    {
        if (source.Length < 4)
        {
            throw new FormatException($"A pgvector value has a 4-byte header; got {source.Length} bytes.");
        }

        int dimensions = BinaryPrimitives.ReadInt16BigEndian(source);
        if (dimensions < 1 || source.Length != EncodedLength(dimensions))
        {
            throw new FormatException($"Header says {dimensions} dimensions, so {EncodedLength(Math.Max(dimensions, 0))} bytes, but got {source.Length}.");
        }

        var vector = new float[dimensions];
        for (var i = 0; i < dimensions; i++)
        {
            vector[i] = BinaryPrimitives.ReadSingleBigEndian(source[(4 + (4 * i))..]);
        }

        return vector;
    }
}
