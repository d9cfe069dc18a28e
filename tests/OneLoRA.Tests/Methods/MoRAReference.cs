using System;
using static TorchSharp.torch;

namespace OneLoRA.Tests.Methods;

/// <summary>
/// MoRA's map written out with scalar loops in double, straight from the definition (METHODS.md, MoRA Eq. 6/9):
/// independent of the adapter's tensor code. ΔW is built column by column from unit vectors.
/// </summary>
public static class MoRAReference
{
    /// <summary>The adapter contribution for one input vector x (length k), output length d.</summary>
    public static double[] Apply(int type, double[,] m, double[] x, long d)
    {
        int r = m.GetLength(0), k = x.Length, n = (k + r - 1) / r;
        var padded = new double[n * r];
        for (int p = 0; p < padded.Length; p++) padded[p] = x[p % k];
        var result = new double[d];
        if (type == 1)
        {
            var c = new double[r];
            for (int g = 0; g < n; g++)
                for (int b = 0; b < r; b++) c[b] += padded[g * r + b];
            var y = new double[r];
            for (int a = 0; a < r; a++)
                for (int b = 0; b < r; b++) y[a] += m[a, b] * c[b];
            for (int i = 0; i < d; i++) result[i] = y[i % r];
            return result;
        }
        if (type != 6) throw new ArgumentException($"type {type}");
        int h = r / 2;
        var z = new double[n * r];
        var rotated = new double[r];
        for (int g = 0; g < n; g++)
        {
            for (int j = 0; j < r; j++)
            {
                double theta = Math.Pow(10000.0, -2.0 * (j % h) / r);
                double phi = g * theta;
                double v = padded[g * r + j];
                double partner = j < h ? -padded[g * r + j + h] : padded[g * r + j - h];
                rotated[j] = v * Math.Cos(phi) + partner * Math.Sin(phi);
            }
            for (int a = 0; a < r; a++)
                for (int b = 0; b < r; b++) z[g * r + a] += m[a, b] * rotated[b];
        }
        for (int i = 0; i < d; i++) result[i] = z[i % (n * r)];
        return result;
    }

    /// <summary>ΔW (d × k) whose column j is the map applied to the unit vector e_j.</summary>
    public static Tensor DeltaWeight(int type, Tensor matrix, long k, long d)
    {
        var m = ToArray(matrix);
        var delta = new double[d * k];
        for (int j = 0; j < k; j++)
        {
            var e = new double[k];
            e[j] = 1;
            var column = Apply(type, m, e, d);
            for (int i = 0; i < d; i++) delta[i * k + j] = column[i];
        }
        return tensor(delta, [d, k], dtype: ScalarType.Float64);
    }

    /// <summary>A 2-D tensor as a double[,].</summary>
    public static double[,] ToArray(Tensor t)
    {
        var flat = t.detach().to(ScalarType.Float64).contiguous().data<double>().ToArray();
        int rows = (int)t.shape[0], cols = (int)t.shape[1];
        var a = new double[rows, cols];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) a[i, j] = flat[i * cols + j];
        return a;
    }
}
