"""Every word a report shows a reader, per language. Code elsewhere passes only keys and numbers.

Placeholders are str.format fields; every key, with the same fields, exists in every language
(tests/report/test_wording.py checks this). Figures are labelled in English in all languages.
"""

from __future__ import annotations

from typing import Final, Literal

from reslab import reference
from reslab.errors import ReslabError

Language = Literal["en", "zh"]

EN: Final[dict[str, str]] = {
    # document
    "html_lang": "en",
    "doc_title": "Deep residual learning on {dataset}: do plain nets degrade with depth, and do shortcuts fix it?",
    "subtitle": "A reslab {version} report · results from {date}",
    "figure_label": "Figure {n}.",
    # introduction
    "h_intro": "Introduction",
    "intro_problem": (
        "He et al. (2015) found that stacking more layers onto a plain convolutional network can "
        "make it worse, and worse on the training set too, so the cause is not overfitting: they "
        "called it the degradation problem. Their remedy is the residual block, in which a few "
        "layers learn a residual F(x) that is added to an identity shortcut x."
    ),
    "intro_question": (
        "This report puts the same two questions to nets trained by reslab. Do deeper plain nets "
        "end with a higher training error than shallower ones? And do the same nets with shortcuts "
        "avoid it? Every number below is read from the stored results, and each conclusion follows "
        "from those numbers and their spread over seeds."
    ),
    "intro_studies_lead": "Studies in this report:",
    "intro_study_item": "{title} — {source}",
    "study_degradation": "Degradation: plain and residual nets of growing depth",
    "study_responses": "Layer responses (the paper's Fig. 7)",
    "study_gradients": "Gradient norms per layer",
    "study_table6": "CIFAR-10 Table 6 side by side",
    "study_unknown": "Study '{study}'",
    "unknown_study": "This version of the report cannot render study '{study}'; its results file is listed in the introduction.",
    # setup
    "h_setup": "Setup",
    "h_env": "Hardware and software",
    "h_dataset": "Dataset",
    "h_recipe": "Recipe: {title}",
    "col_item": "Item",
    "col_value": "Value",
    "env_cpu": "CPU",
    "env_cpu_count": "CPU cores",
    "env_torch_threads": "PyTorch threads",
    "env_cuda": "GPU",
    "env_cuda_none": "none (CPU only)",
    "env_platform": "Platform",
    "env_python": "Python",
    "env_torch": "PyTorch",
    "env_torchvision": "torchvision",
    "env_numpy": "NumPy",
    "env_reslab": "reslab",
    "ds_name": "Name",
    "ds_train": "Training images",
    "ds_val": "Validation images",
    "ds_test": "Test images",
    "ds_shape": "Image shape (C×H×W)",
    "ds_classes": "Classes",
    "applies_to_lead": "For:",
    "not_recorded": "Not recorded in the results.",
    "seeds_line": "Seeds: {seeds} ({n} in all).",
    "wall_line": "Wall time of the whole study: {wall}.",
    "recipe_lead": "Training recipe, as stored with the results:",
    "command_lead": "To re-run this study exactly:",
    "no_command": "The results do not record the command that produced them.",
    "unit_s": "{v:.1f} s",
    "unit_min": "{v:.1f} min",
    "unit_h": "{v:.2f} h",
    # results, shared
    "h_results": "Results",
    "h_verdict": "Verdict",
    "col_model": "Model",
    "col_kind": "Kind",
    "col_depth": "Depth",
    "col_params": "Params",
    "kind_plain": "plain",
    "kind_residual": "residual",
    "mean_std_explain": "Errors in percent, mean ± standard deviation over seeds; a lone number means a single seed.",
    "paper_claim_lead": "The paper:",
    "note_lead": "Note:",
    # degradation
    "deg_intro": (
        "Plain and residual nets of each depth were trained with one recipe. The table gives the "
        "error at the end of training over {n} seed(s), next to the paper's CIFAR-10 test error "
        "for the residual nets."
    ),
    "col_flops": "FLOPs",
    "col_final_train": "Final train error %",
    "col_final_test": "Final test error %",
    "col_best_test": "Best test error %",
    "col_seeds": "Seeds",
    "col_paper_cifar": "Paper test error % (CIFAR-10)",
    "paper_context_note": (
        "The paper column holds the paper's own CIFAR-10 results, quoted for scale only: these "
        "runs used the {dataset} dataset and a shorter recipe, so the numbers are not expected "
        "to match."
    ),
    "degradation_claim": reference.DEGRADATION_CLAIM,
    "fig_train_error_curves": "Training error during training. Plain nets dashed, residual nets solid, one colour per depth; dotted verticals mark learning-rate drops; shading is ± one standard deviation over seeds.",
    "fig_test_error_curves": "Test error during training, drawn as in the previous figure.",
    "fig_error_vs_depth": "Final training (left) and test (right) error against depth; error bars are one standard deviation over seeds.",
    "verdict_deg_yes": "Degradation observed: the final training error of {deep} minus that of {shallow} is {gap} points, more than the {margin}-point margin the study used.",
    "verdict_deg_no": "Degradation not observed: the final training error of {deep} minus that of {shallow} is {gap} points, not more than the {margin}-point margin the study used.",
    "verdict_res_yes": "With shortcuts the deeper net does not degrade: the final training error of {deep} minus that of {shallow} is {gap} points (margin {margin} points).",
    "verdict_res_no": "With shortcuts the deeper net still degrades: the final training error of {deep} minus that of {shallow} is {gap} points (margin {margin} points).",
    "verdict_nothing_to_fix": "As the plain nets did not degrade at this scale, this run cannot show shortcuts fixing degradation.",
    "deg_test_compare": "Final test error: {plain_deep} {pd}% against {plain_shallow} {ps}%; {residual_deep} {rd}% against {residual_shallow} {rs}%.",
    "within_noise": "The gap between {deep} and {shallow} is no larger than its standard deviation over seeds, so it lies within run-to-run noise.",
    "single_seed_caveat": "Each model was trained with one seed only, so the spread between runs is unknown; read small gaps as noise.",
    "no_verdict": "The results store no verdict; compare the final training errors in the table.",
    # responses
    "resp_intro": "The standard deviation of each 3×3 layer's response (after batch norm, before the addition and the ReLU), measured on held-out images.",
    "col_layers_3x3": "3×3 layers",
    "col_mean_std": "Mean response std",
    "col_max_std": "Largest",
    "col_min_std": "Smallest",
    "figure7_claim": reference.FIGURE7_CLAIM,
    "fig_responses": "Response standard deviation of each 3×3 layer: left in the net's order, right sorted from largest to smallest (compare the paper's Fig. 7). Plain dashed, residual solid.",
    "resp_res_smaller": "At depth {depth} the residual layers respond more weakly than the plain ones (mean std {res} against {plain}), as the paper reports.",
    "resp_res_not_smaller": "At depth {depth} the residual layers do not respond more weakly than the plain ones (mean std {res} against {plain}); the paper's observation is not observed here.",
    "resp_deeper_smaller": "Deeper residual nets respond more weakly ({chain}), as the paper reports.",
    "resp_deeper_not_smaller": "Deeper residual nets do not respond consistently more weakly ({chain}); the paper's observation is not observed here.",
    # gradients
    "grad_intro": "The L2 norm of the gradient of each conv layer's weights at initialisation, averaged over probe batches. Vanishing or exploding gradients show as early layers with norms far below or far above the last layer's.",
    "grad_trained_too": "The same measurement after training is shown in the right-hand panel of the figure.",
    "col_layers": "Conv layers",
    "col_first_grad": "First layer grad norm",
    "col_last_grad": "Last layer grad norm",
    "col_first_over_last": "First / last",
    "col_first_grad_trained": "First layer, trained",
    "fig_gradients": "Gradient norm of each conv layer's weights against its position in the net (log scale). Plain dashed, residual solid, one colour per depth.",
    "grad_plain_uneven": "At depth {depth} the plain net's gradient norm changes by a factor {plain_ratio} from the first layer to the last ({trend}; first layer {plain}), the residual net's by {res_ratio} (first layer {res}): the shortcuts keep the gradient even through depth.",
    "grad_plain_not_uneven": "At depth {depth} the plain net's gradients are not more uneven across layers than the residual net's (first/last ratio {plain_ratio} against {res_ratio}; first layer {plain} against {res}).",
    "grad_trend_explode": "growing towards the input: exploding gradients",
    "grad_trend_vanish": "shrinking towards the input: vanishing gradients",
    # table 6
    "t6_intro": "The paper's Table 6 (CIFAR-10 test error) next to a public PyTorch reproduction and what reslab measured for the same models.",
    "col_paper_error": "Paper error %",
    "col_repro_error": "PyTorch reproduction error %",
    "col_measured": "reslab error %",
    "col_status": "Status",
    "status_measured": "measured",
    "status_not_run": "not run",
    "t6_measured_line": "{model}: reslab measured {measured}% test error against the paper's {paper}% ({diff} points).",
    "t6_none_measured": "No Table 6 model was trained for this report; the table shows the published numbers only.",
    # confusion matrix (optional in any study)
    "fig_confusion": "Confusion matrix of {model} on the test set: rows are true classes, columns predicted ones.",
    # conclusions
    "h_conclusions": "Conclusions",
    "no_findings": "The stored results hold nothing to conclude from.",
    "conclusion_scope": "These conclusions hold for the {dataset} dataset, the recipe and the seeds listed under Setup; a different scale may give a different answer.",
}

ZH: Final[dict[str, str]] = {
    "html_lang": "zh-CN",
    "doc_title": "{dataset} 上的深度残差学习：普通网络会随深度退化吗？捷径连接能解决吗？",
    "subtitle": "reslab {version} 报告 · 结果日期 {date}",
    "figure_label": "图 {n}.",
    "h_intro": "引言",
    "intro_problem": (
        "He 等人（2015）发现，给普通卷积网络堆叠更多层反而可能让它变差，而且在训练集上也变差，"
        "因此原因不是过拟合：他们称之为退化问题。他们的解决办法是残差块：几层网络学习一个残差 F(x)，"
        "再与恒等捷径 x 相加。"
    ),
    "intro_question": (
        "本报告对 reslab 训练的网络提出同样的两个问题：更深的普通网络最终的训练误差是否高于较浅的？"
        "加上捷径连接的同样网络能否避免这一点？下文每个数字都读自保存的结果，"
        "每条结论都来自这些数字及其在各随机种子间的离散程度。"
    ),
    "intro_studies_lead": "本报告包含的实验：",
    "intro_study_item": "{title} — {source}",
    "study_degradation": "退化：深度递增的普通网络与残差网络",
    "study_responses": "层响应（论文图 7）",
    "study_gradients": "各层梯度范数",
    "study_table6": "CIFAR-10 表 6 对照",
    "study_unknown": "实验“{study}”",
    "unknown_study": "此版本的报告无法呈现实验“{study}”；其结果文件已列于引言中。",
    "h_setup": "实验设置",
    "h_env": "硬件与软件",
    "h_dataset": "数据集",
    "h_recipe": "训练方案：{title}",
    "col_item": "项目",
    "col_value": "值",
    "env_cpu": "CPU",
    "env_cpu_count": "CPU 核数",
    "env_torch_threads": "PyTorch 线程数",
    "env_cuda": "GPU",
    "env_cuda_none": "无（仅 CPU）",
    "env_platform": "平台",
    "env_python": "Python",
    "env_torch": "PyTorch",
    "env_torchvision": "torchvision",
    "env_numpy": "NumPy",
    "env_reslab": "reslab",
    "ds_name": "名称",
    "ds_train": "训练图像",
    "ds_val": "验证图像",
    "ds_test": "测试图像",
    "ds_shape": "图像形状（C×H×W）",
    "ds_classes": "类别数",
    "applies_to_lead": "适用于：",
    "not_recorded": "结果中未记录。",
    "seeds_line": "随机种子：{seeds}（共 {n} 个）。",
    "wall_line": "整个实验耗时：{wall}。",
    "recipe_lead": "训练方案（与结果一同保存）：",
    "command_lead": "精确重跑此实验的命令：",
    "no_command": "结果中没有记录生成它们的命令。",
    "unit_s": "{v:.1f} 秒",
    "unit_min": "{v:.1f} 分钟",
    "unit_h": "{v:.2f} 小时",
    "h_results": "结果",
    "h_verdict": "结论判定",
    "col_model": "模型",
    "col_kind": "类型",
    "col_depth": "深度",
    "col_params": "参数量",
    "kind_plain": "普通",
    "kind_residual": "残差",
    "mean_std_explain": "误差单位为百分比，取各随机种子的均值 ± 标准差；只有一个数字表示仅一个种子。",
    "paper_claim_lead": "论文：",
    "note_lead": "说明：",
    "deg_intro": (
        "每种深度的普通网络和残差网络都用同一训练方案训练。表中给出训练结束时的误差"
        "（{n} 个种子），并在旁边列出论文中残差网络在 CIFAR-10 上的测试误差。"
    ),
    "col_flops": "FLOPs",
    "col_final_train": "最终训练误差 %",
    "col_final_test": "最终测试误差 %",
    "col_best_test": "最佳测试误差 %",
    "col_seeds": "种子数",
    "col_paper_cifar": "论文测试误差 %（CIFAR-10）",
    "paper_context_note": (
        "论文一栏是论文自己在 CIFAR-10 上的结果，仅作量级参考：这些运行使用的是 {dataset} "
        "数据集和更短的训练方案，因此数字不应相同。"
    ),
    "degradation_claim": (
        "更深的普通网络比较浅的网络有更高的训练误差和测试误差（plain-56 比 plain-20 差，"
        "plain-110 的误差始终高于 60%）：这就是退化问题。加上恒等捷径后，更深的 ResNet "
        "达到更低的误差（He 等人 2015，图 6）。"
    ),
    "fig_train_error_curves": "训练过程中的训练误差。普通网络为虚线，残差网络为实线，每种深度一种颜色；点状竖线标出学习率下降处；阴影为各种子间 ± 一个标准差。",
    "fig_test_error_curves": "训练过程中的测试误差，画法同上图。",
    "fig_error_vs_depth": "最终训练误差（左）和测试误差（右）随深度的变化；误差棒为各种子间的一个标准差。",
    "verdict_deg_yes": "观察到退化：{deep} 的最终训练误差减去 {shallow} 的为 {gap} 个百分点，超过实验所用的 {margin} 个百分点阈值。",
    "verdict_deg_no": "未观察到退化：{deep} 的最终训练误差减去 {shallow} 的为 {gap} 个百分点，未超过实验所用的 {margin} 个百分点阈值。",
    "verdict_res_yes": "加上捷径后更深的网络没有退化：{deep} 的最终训练误差减去 {shallow} 的为 {gap} 个百分点（阈值 {margin} 个百分点）。",
    "verdict_res_no": "加上捷径后更深的网络仍然退化：{deep} 的最终训练误差减去 {shallow} 的为 {gap} 个百分点（阈值 {margin} 个百分点）。",
    "verdict_nothing_to_fix": "由于普通网络在此规模下没有退化，这次运行无法说明捷径连接解决了退化。",
    "deg_test_compare": "最终测试误差：{plain_deep} 为 {pd}%，{plain_shallow} 为 {ps}%；{residual_deep} 为 {rd}%，{residual_shallow} 为 {rs}%。",
    "within_noise": "{deep} 与 {shallow} 之间的差距不大于其在各种子间的标准差，属于运行间的随机波动。",
    "single_seed_caveat": "每个模型只用一个种子训练，运行间的离散程度未知；较小的差距应视为噪声。",
    "no_verdict": "结果中没有保存判定；请比较表中的最终训练误差。",
    "resp_intro": "每个 3×3 层响应（批归一化之后、相加与 ReLU 之前）的标准差，在留出图像上测得。",
    "col_layers_3x3": "3×3 层数",
    "col_mean_std": "平均响应标准差",
    "col_max_std": "最大",
    "col_min_std": "最小",
    "figure7_claim": "残差函数的响应通常比普通网络的小，且越深的 ResNet 响应越小（论文图 7）。",
    "fig_responses": "每个 3×3 层响应的标准差：左图按网络中的顺序，右图按大小从大到小排序（对照论文图 7）。普通为虚线，残差为实线。",
    "resp_res_smaller": "深度 {depth} 时，残差层的响应弱于普通层（平均标准差 {res} 对 {plain}），与论文一致。",
    "resp_res_not_smaller": "深度 {depth} 时，残差层的响应并不弱于普通层（平均标准差 {res} 对 {plain}）；此处未观察到论文的现象。",
    "resp_deeper_smaller": "更深的残差网络响应更弱（{chain}），与论文一致。",
    "resp_deeper_not_smaller": "更深的残差网络的响应并非一致地更弱（{chain}）；此处未观察到论文的现象。",
    "grad_intro": "初始化时每个卷积层权重梯度的 L2 范数，在若干探测批次上取平均。若梯度消失或爆炸，前面各层的范数会远小于或远大于最后一层。",
    "grad_trained_too": "训练之后的同一测量见图中右侧面板。",
    "col_layers": "卷积层数",
    "col_first_grad": "第一层梯度范数",
    "col_last_grad": "最后一层梯度范数",
    "col_first_over_last": "第一层 / 最后一层",
    "col_first_grad_trained": "第一层（训练后）",
    "fig_gradients": "每个卷积层权重的梯度范数随其在网络中位置的变化（对数坐标）。普通为虚线，残差为实线，每种深度一种颜色。",
    "grad_plain_uneven": "深度 {depth} 时，普通网络的梯度范数从第一层到最后一层相差 {plain_ratio} 倍（{trend}；第一层 {plain}），残差网络仅相差 {res_ratio} 倍（第一层 {res}）：捷径连接使梯度在各层间保持均匀。",
    "grad_plain_not_uneven": "深度 {depth} 时，普通网络各层梯度并不比残差网络更不均匀（第一层/最后一层之比 {plain_ratio} 对 {res_ratio}；第一层 {plain} 对 {res}）。",
    "grad_trend_explode": "向输入端增大：梯度爆炸",
    "grad_trend_vanish": "向输入端减小：梯度消失",
    "t6_intro": "论文表 6（CIFAR-10 测试误差），与一个公开的 PyTorch 复现以及 reslab 对同样模型的测量结果并列。",
    "col_paper_error": "论文误差 %",
    "col_repro_error": "PyTorch 复现误差 %",
    "col_measured": "reslab 误差 %",
    "col_status": "状态",
    "status_measured": "已测量",
    "status_not_run": "未运行",
    "t6_measured_line": "{model}：reslab 测得测试误差 {measured}%，论文为 {paper}%（相差 {diff} 个百分点）。",
    "t6_none_measured": "本报告没有训练表 6 中的任何模型；表中只列出已发表的数字。",
    "fig_confusion": "{model} 在测试集上的混淆矩阵：行为真实类别，列为预测类别。",
    "h_conclusions": "结论",
    "no_findings": "保存的结果中没有可以得出结论的内容。",
    "conclusion_scope": "这些结论仅适用于 {dataset} 数据集以及“实验设置”中列出的训练方案和种子；换一个规模可能得到不同的答案。",
}

WORDING: Final[dict[str, dict[str, str]]] = {"en": EN, "zh": ZH}
LANGUAGES: Final[tuple[str, ...]] = tuple(WORDING)


class Wording:
    """The words of one language: ``t("key", field=value)`` returns the formatted text."""

    def __init__(self, lang: str) -> None:
        if lang not in WORDING:
            raise ReslabError(
                f"unknown report language {lang!r}; choose one of {', '.join(LANGUAGES)}"
            )
        self.lang = lang
        self._words = WORDING[lang]

    def __call__(self, key: str, **fields: object) -> str:
        return self._words[key].format(**fields)
